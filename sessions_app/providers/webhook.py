"""The one interface every provider's webhooks implement, and what they share.

`sessions_app.webhooks` (the HTTP view) finds a connection's `ProviderWebhook`
in the registry and asks it two things: is this delivery authentic
(`signature_valid`, over the RAW body, before anything is parsed), and what
does it say (`event_parse`: the delivery id to store it once under, the event
type, the session to refresh). Parsers never query the database: what they
need to know about Verity's data reaches them as a callable.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..sync.values import ID_MAX

# Given a check's external id, return the external id of the session Verity
# mirrors it under, or "" when Verity holds no such check.
CheckSessionLookup = Callable[[str], str]


@dataclass(slots=True)
class WebhookEvent:
    """What Verity understood of a verified delivery."""

    delivery_id: str
    event_type: str = ""
    # The session to refresh ("" when the event concerns none Verity mirrors).
    session_id: str = ""
    hint: dict[str, Any] = field(default_factory=dict)


class ProviderWebhook(abc.ABC):
    """One provider's webhook signature scheme and event format."""

    @abc.abstractmethod
    def signature_valid(
        self, *, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]
    ) -> bool:
        """Whether the delivery was sent by someone holding one of `secrets`."""

    @abc.abstractmethod
    def event_parse(
        self, *, data: dict[str, Any], body: bytes, check_session: CheckSessionLookup
    ) -> WebhookEvent:
        """Return the delivery id, event type and session to refresh of a parsed body."""


def webhook_signature(secret: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `body` under `secret` (Onfido, ComplyCube)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def hmac_signature_valid(
    *, header: str, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]
) -> bool:
    """Check a hex HMAC-SHA256 signature header against every secret, in constant time.

    Case and a `sha256=` prefix are tolerated. No short-circuit: every secret
    is compared, so the time taken does not tell which one matched.
    """
    if not secrets:
        return False
    presented = headers.get(header, "").strip().lower()
    if not presented:
        return False
    if presented.startswith("sha256="):
        presented = presented.removeprefix("sha256=")
    presented_bytes = presented.encode("ascii", errors="replace")
    matches = [
        hmac.compare_digest(presented_bytes, webhook_signature(s, body).encode("ascii"))
        for s in secrets
    ]
    return any(matches)


def shared_secret_valid(
    *, header: str, headers: Mapping[str, str], secrets: Sequence[str]
) -> bool:
    """Check a header carrying the shared secret itself, in constant time per secret."""
    if not secrets:
        return False
    presented = headers.get(header, "")
    if not presented:
        return False
    presented_bytes = presented.encode("utf-8")
    # No short-circuit: every secret is compared.
    matches = [hmac.compare_digest(presented_bytes, s.encode("utf-8")) for s in secrets]
    return any(matches)


def body_id(body: bytes) -> str:
    """The delivery id of an event that carries none: the hash of its raw body."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def event_text(value: Any) -> str:
    """A string field of an event, stripped and clipped to an id column; else "".

    Unlike `values.clean_id`, numbers are not ids here and a long string is
    clipped rather than refused: delivery ids stored by earlier releases were
    made this way, and a re-delivery must find them.
    """
    return value.strip()[:ID_MAX] if isinstance(value, str) else ""
