"""What the CSV exports hold: their columns and each cell's format.

Every text cell that a provider or a user wrote goes through `csv_safe_cell()`
(OWASP "CSV Injection"); numeric and date-time columns are written as-is, so a
count stays a number and an ISO date stays a date. `postgres.py` holds the
same formats as SQL, for PostgreSQL's COPY.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from ..links import detail_url_builder, detail_url_parts
from ..privacy.personal_fields import name_initials

# OWASP: a cell starting with one of these may be run as a formula by a
# spreadsheet. Tab, CR and LF are on the list because Excel strips them and
# then reads what follows; NUL is ASVS 5.0 1.2.10's addition.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def csv_safe_cell(value: Any) -> str:
    """Return `value` as text a spreadsheet will show, never evaluate.

    A cell starting with a formula trigger is prefixed with a single quote,
    which Excel and LibreOffice display as text and do not run; the rest of
    the text is kept exactly, so it stays readable. None is an empty cell.
    Use it on every text cell that comes from a provider or a user; the csv
    writer's QUOTE_ALL handles embedded quotes, separators and newlines.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_number(value: float | None) -> str:
    """Return a numeric cell unchanged (a negative number stays `-5`)."""
    return "" if value is None else str(value)


def csv_datetime(value: dt.datetime | None) -> str:
    """Return an ISO 8601 UTC date-time (`2026-01-31T09:30:00Z`), or empty."""
    if value is None:
        return ""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def csv_initials(value: Any) -> str:
    """A personal name masked as its initials ("A. L."), formula-safe."""
    return csv_safe_cell(name_initials(value or ""))


def csv_list(value: Any) -> str:
    """Return a JSON list of words (a session's reasons) joined by "; ", guarded."""
    if not isinstance(value, list):
        return ""
    return csv_safe_cell("; ".join(str(item) for item in value))


@dataclasses.dataclass(frozen=True)
class Column:
    """One CSV column: its header, the `values_list` field it reads, its format.

    `personal`: a name, written as initials unless the user may export
    personal data (`roles.EXPORT_PERSONAL`; docs/data-protection.md).
    """

    header: str
    field: str
    format: Callable[[Any], str] = csv_safe_cell
    personal: bool = False


def columns_for(columns: tuple[Column, ...], *, personal: bool) -> tuple[Column, ...]:
    """The export's columns, the personal ones as initials unless `personal`."""
    if personal:
        return columns
    return tuple(
        dataclasses.replace(column, format=csv_initials) if column.personal else column
        for column in columns
    )


# --- What each export holds ------------------------------------------------------------

SESSION_COLUMNS: tuple[Column, ...] = (
    Column("Verity id", "id", csv_number),
    Column("Provider", "connection__slug"),
    Column("Provider kind", "connection__kind"),
    Column("External id", "external_id"),
    Column("Client", "provider_client__client__display_name", personal=True),
    Column("Client id", "provider_client__client_id", csv_number),
    Column("Provider client name", "provider_client__name", personal=True),
    Column("Workflow id", "workflow_id"),
    Column("Workflow name", "workflow_name"),
    Column("Workflow version", "workflow_version"),
    Column("Status", "status"),
    Column("Raw status", "raw_status"),
    Column("Outcome", "outcome"),
    Column("Raw outcome", "raw_outcome"),
    Column("Checks clear", "checks_clear", csv_number),
    Column("Checks attention", "checks_attention", csv_number),
    Column("Checks rejected", "checks_rejected", csv_number),
    Column("Checks without outcome", "checks_none", csv_number),
    Column("Created (UTC)", "provider_created_at", csv_datetime),
    Column("Updated (UTC)", "provider_updated_at", csv_datetime),
    Column("Started (UTC)", "started_at", csv_datetime),
    Column("Completed (UTC)", "completed_at", csv_datetime),
    Column("Last synced (UTC)", "last_synced_at", csv_datetime),
    Column("Assignee", "assignee__username"),
    Column("Last decision", "last_decision"),
    Column("Last decision at (UTC)", "last_decision_at", csv_datetime),
    Column("Case state", "case_state"),
    Column("Waiting until (UTC)", "case_waiting_until", csv_datetime),
    Column("User reference", "user_reference"),
    Column("Provider decision", "decision"),
    Column("Risk score", "risk_score", csv_number),
    Column("Applicant link expires (UTC)", "link_expires_at", csv_datetime),
    Column("Reasons", "reasons", csv_list),
    Column("Needs attention because", "attention_reason"),
    Column("Last decision reason", "last_reason_code"),
    Column("Last decision comment", "last_comment"),
    Column("Last decision reviewer", "last_reviewer"),
)
# Derived per row from the session id, after the database columns.
SESSION_EXTRA_HEADERS = ("Tags", "Verity URL")

CHECK_COLUMNS: tuple[Column, ...] = (
    Column("Verity check id", "id", csv_number),
    Column("Verity session id", "session_id", csv_number),
    Column("Provider", "connection__slug"),
    Column("Provider kind", "connection__kind"),
    Column("Session external id", "session__external_id"),
    Column("Session status", "session__status"),
    Column("Session outcome", "session__outcome"),
    Column("Client", "session__provider_client__client__display_name", personal=True),
    Column("Client id", "session__provider_client__client_id", csv_number),
    Column("Provider client name", "session__provider_client__name", personal=True),
    Column("Check external id", "external_id"),
    Column("Check type", "check_type"),
    Column("Check kind", "kind"),
    Column("Status", "status"),
    Column("Raw status", "raw_status"),
    Column("Outcome", "outcome"),
    Column("Raw outcome", "raw_outcome"),
    Column("Task id", "task_id"),
    Column("Created (UTC)", "provider_created_at", csv_datetime),
    Column("Updated (UTC)", "provider_updated_at", csv_datetime),
    Column("Last synced (UTC)", "last_synced_at", csv_datetime),
)
CHECK_EXTRA_HEADERS = ("Verity session URL",)


# --- Links to the session page, one reverse() per export ---------------------------


def session_url_parts(request: HttpRequest) -> tuple[str, str]:
    """The session page's absolute URL before and after the id (one reverse())."""
    return detail_url_parts("session-detail", absolute=request.build_absolute_uri)


def session_url_maker(request: HttpRequest) -> Callable[[int], str]:
    return detail_url_builder("session-detail", absolute=request.build_absolute_uri)
