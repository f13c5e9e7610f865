"""Credentials a provider's payloads carry (`providers/<name>/secrets.py`),
cut from every raw payload and quarantined text before the sync writes them
(issue 21: secrets never reach the database, whatever the adapter did)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..providers.base import SessionRecord
from ..providers.registry import secret_paths_for
from .values import json_text


def records_without_secrets(
    kind: str, records: Sequence[SessionRecord]
) -> list[SessionRecord]:
    """The records with the credentials of provider `kind` cut from their raw
    payloads (the session's, its client's, its checks'), in place; a payload
    holding none is left as it is (one JSON dump tells)."""
    session, check, client = (
        secret_paths_for(kind, shape) for shape in ("session", "check", "client")
    )
    for record in records:
        record.raw = session.cut(record.raw)
        if record.client is not None:
            record.client.raw = client.cut(record.client.raw)
        for item in record.checks or ():
            item.raw = check.cut(item.raw)
    return list(records)


def quarantined_text_without_secrets(kind: str, raw: str) -> str:
    """A quarantined record's raw text without credentials: JSON text is cut
    as a listed item or a session payload would be; other text is kept."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return raw
    clean = secret_paths_for(kind, "session").cut(
        secret_paths_for(kind, "listed").cut(value)
    )
    return raw if clean is value else json_text(clean)
