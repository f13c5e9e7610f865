"""The unfinished ComplyCube pass, as the cursor's `"pass"` object holds it.

A typed state the shared walker (`sessions_app/providers/walker.py`) moves
through; `to_json` writes the keys earlier releases wrote, so stored cursors
resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ...sync.values import parse_timestamp
from ..walker import Invalid, ListingPass, ids_field, optional_str_field, str_field


@dataclass(kw_only=True)
class ComplyCubePass(ListingPass):
    """An unfinished ComplyCube pass (the cursor's `"pass"`).

    `updated_after` is the listing's window (None: list everything);
    `max_updated` the newest `updatedAt` listed so far; `listed_retry_ids` the
    retry ids the listing already returned; `retry_after` the last id read by id.
    """

    PHASES: ClassVar[tuple[str, ...]] = ("list", "retry")
    # Passes stored before the retry phase existed have no `phase`.
    PHASE_DEFAULT: ClassVar[str | None] = "list"

    updated_after: str | None = None
    max_updated: str | None = None
    listed_retry_ids: list[str] = field(default_factory=list)
    retry_after: str = ""

    @classmethod
    def fields_from_json(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        fields = super().fields_from_json(data)
        if parse_timestamp(fields["started_at"]) is None:
            raise Invalid("started_at")
        return {
            **fields,
            "updated_after": optional_str_field(data, "updated_after"),
            "max_updated": optional_str_field(data, "max_updated"),
            "listed_retry_ids": ids_field(data, "listed_retry_ids", default=[]),
            "retry_after": str_field(data, "retry_after", default=""),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "started_at": self.started_at,
            "updated_after": self.updated_after,
            "phase": self.phase,
            "page": self.page,
            "done_ids": self.done_ids,
            "prev_ids": self.prev_ids,
            "max_updated": self.max_updated,
            "retry_ids": self.retry_ids,
            "listed_retry_ids": self.listed_retry_ids,
            "retry_after": self.retry_after,
            "incomplete_ids": self.incomplete_ids,
        }
