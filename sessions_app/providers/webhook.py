"""The one interface every provider's webhooks implement, and what they share.

`sessions_app.webhooks` (the HTTP view) finds a connection's `ProviderWebhook`
in the registry and asks it three things: is this delivery authentic
(`signature_valid`, over the RAW body, before anything is parsed), what does
it say (`event_parse`: the delivery id to store it once under, the event type,
the session to refresh), and may this connection refresh that session
(`scope_problem`, given the connection's options). Parsers never query the
database: what they need to know about Verity's data reaches them as a
callable. Every text they return is free of NUL characters (PostgreSQL
refuses them), so a hostile field cannot stop a delivery from being stored.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..sync.values import ID_MAX, json_object, text

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
    # What to store in place of the body as received, when the provider's
    # parser cut credentials out of it (None: store the body as received).
    stored_body: str | None = None


class ProviderWebhook(abc.ABC):
    """One provider's webhook signature scheme and event format.

    A delivery is authentic when the header `auth_header` carries what one of
    the connection's secrets makes of the body (`expected`), compared in
    constant time after `presented` has read the header.
    """

    auth_header: ClassVar[str]

    def signature_valid(
        self, *, headers: Mapping[str, str], body: bytes, secrets: Sequence[str]
    ) -> bool:
        """Whether the delivery was sent by someone holding one of `secrets`.

        No short-circuit: every secret is compared, so the time taken does
        not tell which one matched.
        """
        if not secrets:
            return False
        presented = self.presented(headers.get(self.auth_header, ""))
        if not presented:
            return False
        matches = [
            hmac.compare_digest(presented, self.expected(secret, body))
            for secret in secrets
        ]
        return any(matches)

    @abc.abstractmethod
    def presented(self, header: str) -> bytes:
        """The header's value as it is compared (b"" when it says nothing)."""

    @abc.abstractmethod
    def expected(self, secret: str, body: bytes) -> bytes:
        """What the header must carry for `body` under `secret`."""

    @abc.abstractmethod
    def event_parse(
        self, *, data: dict[str, Any], body: bytes, check_session: CheckSessionLookup
    ) -> WebhookEvent:
        """Return the delivery id, event type and session to refresh of a parsed body."""

    def scope_problem(self, *, event: WebhookEvent, options: Mapping[str, Any]) -> str:
        """Why this connection may not refresh the event's session ("" if it may).

        By default a connection reads everything its credential reaches.
        """
        return ""


class HmacSignedWebhook(ProviderWebhook):
    """A provider that signs the raw body: hex HMAC-SHA256 in `auth_header`.

    Case and a `sha256=` prefix are tolerated.
    """

    def presented(self, header: str) -> bytes:
        signature = header.strip().lower().removeprefix("sha256=")
        return signature.encode("ascii", errors="replace")

    def expected(self, secret: str, body: bytes) -> bytes:
        return webhook_signature(secret, body).encode("ascii")


class SharedSecretWebhook(ProviderWebhook):
    """A provider that sends the shared secret itself in `auth_header`."""

    def presented(self, header: str) -> bytes:
        return header.encode("utf-8")

    def expected(self, secret: str, body: bytes) -> bytes:
        return secret.encode("utf-8")


def webhook_signature(secret: str, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `body` under `secret` (Onfido, ComplyCube)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def body_id(body: bytes) -> str:
    """The delivery id of an event that carries none: the hash of its raw body."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def event_envelope(
    data: dict[str, Any], body: bytes, *, type_key: str, id_key: str
) -> tuple[str, dict[str, Any], str]:
    """Return (event type, `payload` object, delivery id) of an event that names
    its type and id under `type_key` and `id_key` (an event without an id is
    known by the hash of its raw body)."""
    return (
        event_text(data.get(type_key)),
        json_object(data.get("payload")),
        event_text(data.get(id_key)) or body_id(body),
    )


def event_text(value: Any) -> str:
    """A string field of an event, NUL-free, stripped and clipped to an id column;
    else "".

    Unlike `values.clean_id`, numbers are not ids here and a long string is
    clipped rather than refused: delivery ids stored by earlier releases were
    made this way, and a re-delivery must find them.
    """
    return text(value).strip()[:ID_MAX] if isinstance(value, str) else ""
