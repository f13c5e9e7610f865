"""Where fields are inside a provider's JSON payloads, written as data, and what
to do with them: cut them (credentials, before anything is stored) or mask
them (personal data, when it is shown).

A path is dotted keys from the payload's root: `run.link.url`. `*` stands for
one key, `**` for any number of keys (none included): `**.sdk_token` is that
key at any depth. Lists are transparent: the items of a list sit at the
list's own path, so `checks.entityName` is the name in every check of the
`checks` list. A matched key's whole value is cut or masked.

Each provider declares its paths per payload shape in
`providers/<name>/secrets.py` and `providers/<name>/personal.py`; this module
imports only the shared leaf `sync.values`, so adapters, the sync, the pages
and the erasure all apply the same definition.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .sync.values import json_dumped

# What a masked value is shown as (its key is kept).
MASK = "•••"

_State = tuple[int, int]  # (pattern index, position in the pattern)
# How many (states, key) steps a PathSet remembers.
STEP_CACHE_MAX = 10_000


@dataclass(eq=False)
class PathSet:
    """A compiled set of paths, matched one key at a time from the root.

    `value_markers`: besides the paths, a string value containing one of these
    is matched wherever it is (a pre-signed URL's signature parameter).
    """

    paths: tuple[str, ...]
    value_markers: tuple[str, ...] = ()
    _patterns: tuple[tuple[str, ...], ...] = field(init=False, repr=False)
    _steps: dict[tuple[frozenset[_State], str], tuple[frozenset[_State], bool]] = field(
        init=False, repr=False, default_factory=dict
    )
    _root: frozenset[_State] = field(init=False, repr=False)
    # The last named key of every path: a payload whose JSON text holds none
    # of them (nor a marker) cannot match, which one C-speed dump tells.
    _needles: tuple[str, ...] = field(init=False, repr=False)
    # The markers as they appear inside that JSON text.
    _marker_needles: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        patterns = []
        for path in self.paths:
            segments = tuple(path.split("."))
            if not path or any(not segment for segment in segments):
                raise ValueError(f"Empty segment in payload path {path!r}.")
            patterns.append(segments)
        self._patterns = tuple(patterns)
        self._root = self._closure({(index, 0) for index in range(len(patterns))})
        names = {
            next((s for s in reversed(p) if s not in ("*", "**")), "") for p in patterns
        }
        wildcard_end = any(p[-1] in ("*", "**") for p in patterns)
        self._needles = (
            ()
            if wildcard_end or "" in names
            else tuple(json.dumps(name) + ":" for name in sorted(names))
        )
        self._marker_needles = tuple(json.dumps(m)[1:-1] for m in self.value_markers)

    def _closure(self, states: Iterable[_State]) -> frozenset[_State]:
        done: set[_State] = set()
        todo = list(states)
        while todo:
            state = todo.pop()
            if state in done:
                continue
            done.add(state)
            pattern, position = state
            segments = self._patterns[pattern]
            if position < len(segments) and segments[position] == "**":
                todo.append((pattern, position + 1))
        return frozenset(done)

    def _step(
        self, states: frozenset[_State], key: str
    ) -> tuple[frozenset[_State], bool]:
        """The states after `key`, and whether a path ends on it (cached)."""
        cached = self._steps.get((states, key))
        if cached is not None:
            return cached
        following: list[_State] = []
        for pattern, position in states:
            segments = self._patterns[pattern]
            if position == len(segments):
                continue
            segment = segments[position]
            if segment == "**":
                following.append((pattern, position))
            elif segment in ("*", key):
                following.append((pattern, position + 1))
        closed = self._closure(following)
        matched = any(p == len(self._patterns[i]) for i, p in closed)
        if len(self._steps) >= STEP_CACHE_MAX:
            # Keys that are ids (a map keyed by them) must not grow it forever.
            self._steps.clear()
        self._steps[(states, key)] = (closed, matched)
        return closed, matched

    def _marked(self, value: Any) -> bool:
        return isinstance(value, str) and any(m in value for m in self.value_markers)

    def may_match(self, value: Any) -> bool:
        """False when `value` certainly holds nothing this set matches."""
        if not self._patterns and not self.value_markers:
            return False
        if not isinstance(value, dict | list):
            return self._marked(value)
        if not self._needles:
            return True
        try:
            dumped = json_dumped(value)  # shared within a sync's batch
        except (TypeError, ValueError, RecursionError):
            try:
                dumped = json.dumps(value, default=str)
            except (TypeError, ValueError, RecursionError):
                return True
        return any(n in dumped for n in self._needles) or any(
            m in dumped for m in self._marker_needles
        )

    # --- what is done with a match --------------------------------------------------

    def cut(self, value: Any) -> Any:
        """`value` without the matched keys (and marked strings); the same
        object when nothing matches."""
        if not self.may_match(value):
            return value
        return self._cut(value, self._root)

    def _cut(self, value: Any, states: frozenset[_State]) -> Any:
        if isinstance(value, dict):
            kept = {}
            for key, item in value.items():
                following, matched = self._step(states, str(key))
                if matched or self._marked(item):
                    continue
                kept[key] = self._cut(item, following)
            return kept
        if isinstance(value, list):
            return [self._cut(item, states) for item in value if not self._marked(item)]
        return value

    def mask(self, value: Any) -> Any:
        """`value` with every matched key's value masked, keys kept; the same
        object when nothing matches."""
        if not self.may_match(value):
            return value
        return self._mask(value, self._root)

    def _mask(self, value: Any, states: frozenset[_State]) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                following, matched = self._step(states, str(key))
                out[key] = masked(item) if matched else self._mask(item, following)
            return out
        if isinstance(value, list):
            return [self._mask(item, states) for item in value]
        return MASK if self._marked(value) else value

    def found(self, value: Any) -> list[str]:
        """The dotted paths in `value` this set matches (for tests and docs)."""
        hits: list[str] = []
        self._found(value, self._root, "", hits)
        return sorted(set(hits))

    def _found(
        self, value: Any, states: frozenset[_State], prefix: str, hits: list[str]
    ) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                path = f"{prefix}.{key}" if prefix else str(key)
                following, matched = self._step(states, str(key))
                if matched or self._marked(item):
                    hits.append(path)
                else:
                    self._found(item, following, path, hits)
        elif isinstance(value, list):
            for item in value:
                if self._marked(item):
                    hits.append(prefix)
                else:
                    self._found(item, states, prefix, hits)


def masked(value: Any) -> Any:
    """Every value inside `value` replaced by MASK, keys and list lengths kept;
    nulls and empty strings stay (they say nothing)."""
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item) for item in value]
    if value is None or value == "":
        return value
    return MASK
