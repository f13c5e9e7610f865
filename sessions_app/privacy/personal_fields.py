"""What counts as personal data, defined once, and how it is masked.

Two kinds of place hold it:

- **columns** (`PERSONAL_COLUMNS`): names Verity copied out of payloads
  (`Client.display_name`, `ProviderClient.name`) and every raw payload;
- **inside payloads**: each provider's `personal.py` declares the paths per
  payload shape (`providers.registry.personal_paths_for`), read with
  `sessions_app/payload_paths.py`.

The pages, the API and the CSV mask with these functions (pure Python over
values already fetched: no query); the erasure blanks the same places.
"""

from __future__ import annotations

from typing import Any

from ..payload_paths import MASK
from ..providers.registry import personal_paths_for

# model label -> the columns that hold personal data.
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions_app.client": ("display_name",),
    "sessions_app.providerclient": ("name", "raw_payload"),
    "sessions_app.workflowsession": ("raw_payload",),
    "sessions_app.check": ("raw_payload", "breakdown"),
    "sessions_app.webhookdelivery": ("body",),
    "sessions_app.quarantinedrecord": ("raw",),
}
# Keys of audit snapshots that carry those columns' values.
PERSONAL_AUDIT_KEYS = frozenset({"display_name", "name", "raw_payload", "breakdown"})


def name_initials(name: str) -> str:
    """A name as its initials ("Alice Lee" -> "A. L."), "" for none.

    Enough for an officer to tell two people in a list apart; not enough to
    identify anyone.
    """
    words = [word for word in str(name or "").replace("-", " ").split() if word]
    return " ".join(f"{word[0].upper()}." for word in words[:4])


def value_masked(value: Any) -> Any:
    """A personal value shown masked: MASK, or what it was when empty."""
    return MASK if value not in (None, "") else value


def payload_masked(kind: str, shape: str, value: Any) -> Any:
    """A provider payload with its personal paths masked (keys kept)."""
    return personal_paths_for(kind, shape).mask(value)


PERSONAL_SHAPES = ("session", "check", "breakdown", "client", "webhook")


def personal_fields_markdown() -> str:
    """The personal paths of every provider as Markdown, for
    docs/data-protection.md (a test keeps the page equal to this)."""
    from ..providers.registry import PROVIDERS

    lines = []
    for kind in PROVIDERS:
        lines.append(f"**{kind}**")
        lines.append("")
        for shape in PERSONAL_SHAPES:
            paths = personal_paths_for(kind, shape).paths
            if not paths:
                lines.append(f"- {shape}: none")
                continue
            # Paths sharing their last keys are written once: parents, then keys.
            by_parent: dict[str, list[str]] = {}
            for path in paths:
                parent, _, key = path.rpartition(".")
                by_parent.setdefault(parent, []).append(key)
            groups: dict[tuple[str, ...], list[str]] = {}
            for parent, keys in by_parent.items():
                groups.setdefault(tuple(keys), []).append(parent)
            parts = []
            for keys, parents in groups.items():
                named = ", ".join(f"`{key}`" for key in keys)
                where = ", ".join(f"`{p}`" if p else "the top" for p in parents)
                parts.append(f"{named} under {where}")
            lines.append(f"- {shape}: " + "; ".join(parts))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
