"""The API's answers with personal data masked, by the token's user's role
(docs/data-protection.md): names as initials, personal payload paths as
MASK, as the pages show them.

Applied to the serialised rows (plain Python over values already fetched: no
query per row). Lists are always masked; a session's or a client's detail is
shown in full to a reviewer who revealed it (one query).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.response import Response

from .privacy.personal_fields import name_initials, payload_masked
from .privacy.reveals import personal_data_access


def _initials(row: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if isinstance(row.get(key), str):
            row[key] = name_initials(row[key])


def _checks_masked(checks: Any, kind: str) -> None:
    for check in checks if isinstance(checks, list) else ():
        if isinstance(check, dict) and "breakdown" in check:
            check["breakdown"] = payload_masked(kind, "breakdown", check["breakdown"])


def session_row_masked(row: dict[str, Any]) -> None:
    """A session row or detail, masked in place."""
    _initials(row, "provider_client_name", "client_name")
    if isinstance(row.get("provider_client"), dict):
        _initials(row["provider_client"], "name")
    if isinstance(row.get("client"), dict):
        _initials(row["client"], "display_name")
    _checks_masked(row.get("checks"), str(row.get("provider_kind") or ""))


def check_row_masked(row: dict[str, Any]) -> None:
    """A check row or detail, masked in place."""
    _initials(row, "client_name")
    _checks_masked([row], str(row.get("provider_kind") or ""))


def client_row_masked(row: dict[str, Any]) -> None:
    """A client row or detail, masked in place (its identities and sessions too)."""
    _initials(row, "display_name")
    for identity in row.get("provider_clients") or ():
        if isinstance(identity, dict):
            _initials(identity, "name")
    for session in row.get("sessions") or ():
        if isinstance(session, dict):
            session_row_masked(session)


# The view names whose answers carry personal data, and how a row is masked.
ROW_MASKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "SessionListApi": session_row_masked,
    "SessionDetailApi": session_row_masked,
    "CheckListApi": check_row_masked,
    "CheckDetailApi": check_row_masked,
    "ClientListApi": client_row_masked,
    "ClientDetailApi": client_row_masked,
}


def _detail_revealed(view_name: str, user: Any, row: dict[str, Any]) -> bool:
    if view_name == "SessionDetailApi":
        client = row.get("client") if isinstance(row.get("client"), dict) else {}
        access = personal_data_access(
            user=user, session_id=row.get("id"), client_id=client.get("id")
        )
    elif view_name == "ClientDetailApi":
        access = personal_data_access(user=user, client_id=row.get("id"))
    elif view_name == "CheckDetailApi":
        access = personal_data_access(
            user=user, session_id=row.get("session_id"), client_id=row.get("client_id")
        )
    else:
        return False
    return not access.masked


class PersonalDataMaskedMixin:
    """Masks the personal data of a 200 answer of the views in ROW_MASKS."""

    def finalize_response(
        self, request: Any, response: Any, *args: Any, **kwargs: Any
    ) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        mask = ROW_MASKS.get(type(self).__name__)
        if mask is None or not isinstance(response, Response):
            return response
        if response.status_code != 200 or not isinstance(response.data, dict):
            return response
        data = response.data
        if isinstance(data.get("results"), list):
            for row in data["results"]:
                if isinstance(row, dict):
                    mask(row)
        elif not _detail_revealed(type(self).__name__, request.user, data):
            mask(data)
        return response
