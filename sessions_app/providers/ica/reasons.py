"""ICA's reason words for a session: why a failed session failed.

Only a failed session (`FAILED`, `FAILED_FINAL`, `FAILEDFINAL`) has reasons:
its `summary` and the `summary` of each failed analysis (free text), else its
status word. Every one classifies as a failed pipeline (`rows.py`).

`reason_words(raw, stored)` is the one definition the adapter and the
re-classification of stored sessions (`sync/reasons.py`) share (`raw` is the
stored shape: `{"session": item, "analyses": [...]}`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...sync.values import json_list, json_object, text

FAILED = frozenset({"FAILED", "FAILED_FINAL", "FAILEDFINAL"})


def _analysis(item: Any) -> dict[str, Any]:
    item = json_object(item)
    return json_object(item["analysis"]) if "analysis" in item else item


def reason_words(raw: Mapping[str, Any], stored: Sequence[Any]) -> list[str]:
    """A failed session's summaries (its own, then its failed analyses'), else
    its status word; nothing for a session that did not fail."""
    session = json_object(raw.get("session"))
    status = text(session.get("status")).strip()
    if status not in FAILED:
        return []
    words = [text(session.get("summary"))]
    for analysis in map(_analysis, json_list(raw.get("analyses"))):
        if text(analysis.get("status")).strip() in FAILED:
            words.append(text(analysis.get("summary")))
    words = [word.strip() for word in words if word.strip()]
    return list(dict.fromkeys(words)) or [status]
