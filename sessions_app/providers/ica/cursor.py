"""The unfinished ICA pass, as the cursor's `"pass"` object holds it.

A typed state the shared walker (`sessions_app/providers/walker.py`) moves
through; `to_json` writes the keys earlier releases wrote, so stored cursors
resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..walker import PassState, ids_field, int_field, optional_str_field


@dataclass(kw_only=True)
class IcaPass(PassState):
    """An unfinished ICA pass (the cursor's `"pass"`): every session of every project.

    `projects` is the list walked (None until it is read); `index` the
    project in progress, `page_token` its search page in progress and
    `offset` the items of that page already handled.
    """

    projects: list[str] | None = None
    index: int = 0
    page_token: str | None = None
    offset: int = 0

    @classmethod
    def fields_from_json(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        fields = super().fields_from_json(data)
        projects = data.get("projects")
        return {
            **fields,
            "projects": None if projects is None else ids_field(data, "projects"),
            "index": int_field(data, "index", minimum=0),
            "page_token": optional_str_field(data, "page_token"),
            "offset": int_field(data, "offset", minimum=0),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "started_at": self.started_at,
            "projects": self.projects,
            "index": self.index,
            "page_token": self.page_token,
            "offset": self.offset,
        }

    def next_project(self) -> None:
        self.index, self.page_token, self.offset = self.index + 1, None, 0
