"""Onfido's reason words for a session: the run's `reasons`, as sent.

`reason_words(raw, stored)` is the one definition the adapter and the
re-classification of stored sessions (`sync/reasons.py`) share. Onfido's
words are the run's `reasons` array (configured on the workflow version),
which the session stores as it is, so the stored list is the answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...sync.values import json_list, json_object, text


def reason_words(raw: Mapping[str, Any], stored: Sequence[Any]) -> list[str]:
    """The run's reasons: the stored list, else `raw["run"]["reasons"]`."""
    values = list(stored) or json_list(json_object(raw.get("run")).get("reasons"))
    return list(dict.fromkeys(word for word in (text(v) for v in values) if word))
