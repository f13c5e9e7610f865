"""The unfinished Onfido pass, as the cursor's `"pass"` object holds it.

A typed state the shared walker (`sessions_app/providers/walker.py`) moves
through; `to_json` writes the keys earlier releases wrote, so stored cursors
resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..walker import Invalid, ListingPass, ids_field, optional_str_field, str_field


@dataclass(kw_only=True)
class OnfidoPass(ListingPass):
    """An unfinished Onfido pass (the cursor's `"pass"`).

    `created_at_gt` is the listing's window (a day; None: list everything);
    `refresh_after` the last id read by id; `listed_refresh_ids` the wanted
    ids a listing already returned; `unfinished_pages_max` bounds the listing
    by rotation status to the reads by id it replaces.
    """

    PHASES: ClassVar[tuple[str, ...]] = ("list", "unfinished", "refresh")

    created_at_gt: str | None = None
    refresh_after: str = ""
    # None until a listing returned a wanted id (the key is then written).
    listed_refresh_ids: list[str] | None = None
    # None until the listing phase ends (the key is then written).
    unfinished_pages_max: int | None = None

    @classmethod
    def fields_from_json(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        fields = super().fields_from_json(data)
        listed = data.get("listed_refresh_ids")
        pages_max = data.get("unfinished_pages_max")
        if pages_max is not None and (
            isinstance(pages_max, bool) or not isinstance(pages_max, int)
        ):
            raise Invalid("unfinished_pages_max")
        return {
            **fields,
            "created_at_gt": optional_str_field(data, "created_at_gt"),
            "refresh_after": str_field(data, "refresh_after"),
            "listed_refresh_ids": (
                None if listed is None else ids_field(data, "listed_refresh_ids")
            ),
            "unfinished_pages_max": pages_max,
        }

    def to_json(self) -> dict[str, Any]:
        data = {
            "mode": self.mode,
            "started_at": self.started_at,
            "created_at_gt": self.created_at_gt,
            "phase": self.phase,
            "page": self.page,
            "done_ids": self.done_ids,
            "prev_ids": self.prev_ids,
            "refresh_after": self.refresh_after,
            "retry_ids": self.retry_ids,
            "incomplete_ids": self.incomplete_ids,
        }
        if self.listed_refresh_ids is not None:
            data["listed_refresh_ids"] = self.listed_refresh_ids
        if self.unfinished_pages_max is not None:
            data["unfinished_pages_max"] = self.unfinished_pages_max
        return data
