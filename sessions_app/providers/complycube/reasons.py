"""ComplyCube's reason words for a session, from its checks.

ComplyCube has no session-level reasons. A session's words come from its
related checks (`raw["checks"]`, the check objects as `GET /checks/{id}`
returned them), in order, each once:

- a screening check's `result.breakdown.summary` groups whose value is not
  `clear`, as `<group>.<item>` (`watchlist.sanctionsLists`, `pep.level1`,
  `adverseMedia.regulatory`);
- the `type` of any other check whose `result.outcome` is not `clear`;
- `rejectionReasons` entries (sent to `POST /checks/{id}/validate`; where a
  check object carries them back, `rejectionReasons` or
  `result.rejectionReasons`, is not documented: both are read), as sent.

`reason_words(raw, stored)` is the one definition the adapter and the
re-classification of stored sessions (`sync/reasons.py`) share.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ...sync.values import json_list, json_object, text

CLEAR_WORDS = frozenset({"", "clear"})


def _flagged_groups(summary: Mapping[str, Any]) -> Iterator[str]:
    for group, items in summary.items():
        if isinstance(items, Mapping):
            for item, value in items.items():
                word = value.get("outcome") if isinstance(value, Mapping) else value
                if isinstance(word, str) and word.strip().lower() not in CLEAR_WORDS:
                    yield f"{group}.{item}"
        elif isinstance(items, str) and items.strip().lower() not in CLEAR_WORDS:
            yield str(group)


def _check_words(check: Mapping[str, Any]) -> Iterator[str]:
    result = json_object(check.get("result"))
    outcome = text(result.get("outcome")).lower()
    check_type = text(check.get("type"))
    if outcome not in CLEAR_WORDS:
        summary = json_object(json_object(result.get("breakdown")).get("summary"))
        groups = list(_flagged_groups(summary))
        if groups:
            yield from groups
        elif check_type:
            yield check_type
    for source in (check, result):
        for reason in json_list(source.get("rejectionReasons")):
            yield text(reason)


def reason_words(raw: Mapping[str, Any], stored: Sequence[Any]) -> list[str]:
    """The session's reason words, from `raw["checks"]` (see above)."""
    words = (
        word
        for check in json_list(raw.get("checks"))
        if isinstance(check, Mapping)
        for word in _check_words(check)
    )
    return list(dict.fromkeys(word for word in words if word))
