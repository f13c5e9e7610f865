"""Credentials inside Onfido payloads: cut before anything is stored.

Paths per payload shape (`sessions_app/payload_paths.py` says how they read).
`sdk_token` (spec `workflow_run_response`) lets the Onfido SDK act as the
applicant on the run; the run's `link.url` does the same for whoever opens it,
until `link.expires_at` (the rest of the link is kept).
"""

from __future__ import annotations

SECRET_PATHS: dict[str, tuple[str, ...]] = {
    # {"run": <workflow run>, "tasks": [<task>, ...]}
    "session": ("**.sdk_token", "run.link.url"),
    # a task
    "check": ("**.sdk_token",),
    # the trimmed applicant
    "client": ("**.sdk_token",),
    # a workflow run as listed (what a quarantined row keeps)
    "listed": ("**.sdk_token", "link.url"),
    # a webhook delivery: {"payload": {"resource": <run or task>, "object": ...}}
    "webhook": ("**.sdk_token", "payload.resource.link.url"),
}
