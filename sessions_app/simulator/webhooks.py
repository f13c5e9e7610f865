"""Signed webhook messages, built from the simulator's data and sent over HTTP.

The formats (bodies, headers, delivery ids) are documented in the package
docstring (`sessions_app/simulator/__init__.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .api import WebhookPayload

SIGNATURE_HEADERS = {
    "onfido": "X-SHA2-Signature",
    "complycube": "ComplyCube-Signature",
}
ICA_SECRET_HEADER = "X-ICA-Webhook-Secret"  # noqa: S105 - a header name, not a secret


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of `body` keyed with `secret` (Onfido, ComplyCube)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    """One signed webhook, ready to POST as-is (the body bytes are what was signed)."""

    provider: str
    event: str
    session_id: str
    delivery_id: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class WebhookResult:
    message: WebhookMessage
    target_url: str
    status_code: int | None
    response_body: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.ok,
            "status_code": self.status_code,
            "response_body": self.response_body[:2000],
            "error": self.error,
            "target_url": self.target_url,
            "provider": self.message.provider,
            "event": self.message.event,
            "session_id": self.message.session_id,
            "delivery_id": self.message.delivery_id,
            "headers": self.message.headers,
            "body": self.message.body.decode("utf-8"),
        }


def webhook_sign(provider: str, payload: WebhookPayload, secret: str) -> WebhookMessage:
    """Serialise `payload` once and sign those exact bytes the provider's way."""
    body = json.dumps(payload.payload, ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"verity-simulator/{provider}-webhooks",
    }
    if provider == "ica":
        # ICA documents no signature; Verity's endpoint checks a shared secret.
        headers[ICA_SECRET_HEADER] = secret
    else:
        headers[SIGNATURE_HEADERS[provider]] = hmac_sha256_hex(secret, body)
    delivery_id = payload.delivery_id or hashlib.sha256(body).hexdigest()
    return WebhookMessage(
        provider=provider,
        event=payload.event,
        session_id=payload.session_id,
        delivery_id=delivery_id,
        body=body,
        headers=headers,
    )


def webhook_deliver(
    message: WebhookMessage, target_url: str, *, timeout: float = 10.0
) -> WebhookResult:
    """POST `message` to `target_url`; never raises for HTTP or network failures."""
    if urlsplit(target_url).scheme not in {"http", "https"}:
        return WebhookResult(
            message, target_url, None, error="target_url must be an http(s) URL"
        )
    request = urllib.request.Request(target_url, method="POST")  # noqa: S310 - scheme checked above
    request.data = message.body
    for name, value in message.headers.items():
        request.add_header(name, value)
    # No proxies: the target is a local Verity, whatever the environment says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
            return WebhookResult(message, target_url, response.status, text)
    except urllib.error.HTTPError as error:
        text = error.read().decode("utf-8", errors="replace")
        return WebhookResult(message, target_url, error.code, text)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        return WebhookResult(
            message, target_url, None, error=str(getattr(error, "reason", error))
        )
