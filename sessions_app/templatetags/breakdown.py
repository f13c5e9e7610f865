"""Check breakdowns as a readable tree of sub-results with outcome badges.

Onfido nests `{name: {result, breakdown: {...}}}`; ComplyCube groups
`summary: {group: {item: outcome}}` and `{name: {outcome}}`; ICA keeps an
analysis `summary`. Any JSON renders: a node's result word (`result`, else
`outcome`) becomes a badge in Verity's words (the provider's check rows,
`normalization.breakdown_outcome`) with the provider's word beside it; a
plain value is shown as text. `properties` (document data, often personal)
stay in the raw JSON only. Bounded: BREAKDOWN_MAX_DEPTH levels and
BREAKDOWN_MAX_NODES nodes, then "more in the raw JSON".
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from django import template
from django.utils.safestring import mark_safe

from ..normalization import breakdown_outcome
from ..vocabulary import Outcome

register = template.Library()

BREAKDOWN_MAX_DEPTH = 6
BREAKDOWN_MAX_NODES = 300
RESULT_KEYS = ("result", "outcome")
HIDDEN_KEYS = frozenset({"properties", "documents", "sub_result"})
_OUTCOME_LABELS = dict(Outcome.choices)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def humanise_key(key: object) -> str:
    """`visual_authenticity` -> "Visual authenticity", `sanctionsLists` -> "Sanctions lists"."""
    words = _CAMEL.sub(" ", str(key)).replace("_", " ").replace("-", " ").split()
    if not words:
        return "(unnamed)"
    text = " ".join(words).lower()
    return text[0].upper() + text[1:]


def _e(value: Any) -> str:
    return html.escape(str(value))


def _badge(provider_kind: str, word: str) -> str:
    outcome = breakdown_outcome(provider_kind, word)
    css = outcome if outcome in {"clear", "attention", "rejected"} else "none"
    label = _OUTCOME_LABELS.get(outcome or "", "") if outcome else word
    return (
        f'<span class="outcome"><span class="badge badge-{css}">{_e(label or word)}</span>'
        f'<span class="raw">{_e(word)}</span></span>'
    )


class _Tree:
    def __init__(self, provider_kind: str) -> None:
        self.provider_kind = provider_kind
        self.nodes = 0
        self.cut = False

    def items(self, value: dict[str, Any], depth: int) -> str:
        parts = []
        for key, child in value.items():
            if key in HIDDEN_KEYS or key in RESULT_KEYS:
                continue
            if key == "breakdown" and not child:
                continue
            if self.nodes >= BREAKDOWN_MAX_NODES:
                self.cut = True
                break
            self.nodes += 1
            parts.append(f"<li>{self.node(key, child, depth)}</li>")
        return f'<ul class="breakdown-tree">{"".join(parts)}</ul>' if parts else ""

    def node(self, key: str, value: Any, depth: int) -> str:
        name = f'<span class="breakdown-name">{_e(humanise_key(key))}</span>'
        if isinstance(value, dict):
            word = next(
                (value[k] for k in RESULT_KEYS if isinstance(value.get(k), str)), None
            )
            head = f"{name} {_badge(self.provider_kind, word)}" if word else name
            children = value.get("breakdown")
            if not isinstance(children, dict):
                children = value
            if depth >= BREAKDOWN_MAX_DEPTH:
                self.cut = self.cut or bool(children)
                return head
            return head + self.items(children, depth + 1)
        if isinstance(value, str) and breakdown_outcome(self.provider_kind, value):
            return f"{name} {_badge(self.provider_kind, value)}"
        if value is None or value == "" or value == {} or value == []:
            return f'{name} <span class="muted">—</span>'
        if isinstance(value, list):
            shown = json.dumps(value, ensure_ascii=False, default=str)
            return f'{name} <span class="mono small">{_e(shown[:300])}</span>'
        return f'{name} <span class="breakdown-value">{_e(value)}</span>'


def breakdown_tree_html(value: Any, provider_kind: str) -> str:
    """The tree's HTML (every value escaped), or "" when there is nothing to show."""
    if not isinstance(value, dict) or not value:
        return ""
    tree = _Tree(provider_kind)
    body = tree.items(value, 1)
    if tree.cut:
        body += '<p class="muted small">More in the raw JSON.</p>'
    return body


@register.simple_tag
def breakdown_tree(value: Any, provider_kind: str) -> str:
    """A check's breakdown as nested lists with outcome badges."""
    return mark_safe(breakdown_tree_html(value, provider_kind))  # noqa: S308 - escaped


@register.simple_tag
def reason_badges(reasons: Any) -> str:
    """A session's reasons (SessionReason rows): Verity's label, the provider's
    word beside it; a dash when there are none."""
    items = [
        f'<li><span class="reason-label">{_e(r.get_code_display())}</span>'
        f'<span class="raw">{_e(r.raw)}</span></li>'
        for r in reasons or []
    ]
    if not items:
        return mark_safe('<span class="muted">—</span>')
    return mark_safe(f'<ul class="reasons">{"".join(items)}</ul>')  # noqa: S308
