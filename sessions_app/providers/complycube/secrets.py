"""Credentials inside ComplyCube payloads: cut before anything is stored.

Paths per payload shape (`sessions_app/payload_paths.py` says how they read).
A webhook object's `secret` signs deliveries; an SDK token (`token`) lets the
ComplyCube SDK act as the client; a hosted flow session's `redirectUrl` runs
the flow as the client for whoever opens it. None of them is in the payloads
Verity reads today; they are cut wherever they would appear.
"""

from __future__ import annotations

_CREDENTIALS = ("**.secret", "**.token", "**.redirectUrl")

SECRET_PATHS: dict[str, tuple[str, ...]] = {
    "session": _CREDENTIALS,  # {"session": <workflow session>, "checks": [...]}
    "check": _CREDENTIALS,  # a check
    "client": _CREDENTIALS,  # the trimmed client
    "listed": _CREDENTIALS,  # a workflow session as listed
    "webhook": _CREDENTIALS,  # {"id", "type", "payload": {...}}
}
