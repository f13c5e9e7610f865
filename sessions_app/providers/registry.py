"""The providers Verity knows: one line each.

Adding a provider is one new package under `sessions_app/providers/` plus one
line in `PROVIDERS` (and its `ProviderKind`). A provider package holds:

- `rows.py`: `ROWS`, its normalisation rows (`rows.NormalisationRows`); a leaf
  module, imported by `sessions_app.normalization`;
- `adapter.py`: `ADAPTER`, its `base.ProviderAdapter` subclass (the sync);
- `reasons.py`: `reason_words(raw, stored)`, the session's reason words from
  its stored raw payload (and stored `reasons`), which `rows.py` classifies;
- `webhook.py`: `WEBHOOK`, its `webhook.ProviderWebhook` (signature and event
  parsing for `sessions_app.webhooks`);
- and what the adapter is made of: typically `cursor.py` (its pass state, a
  `walker.PassState`), `records.py` (one session read in full), `http.py`
  (client setup, error parser, `RATE_LIMITS`, its documented request
  rates as a `pacing.ProviderRateLimits`, and `KNOWN_HOSTS`, the API hosts a
  connection's base URL may name), `options.py` (option checks);
- `secrets.py`: `SECRET_PATHS`, the credentials its payloads carry, per
  payload shape (cut before anything is stored);
- `personal.py`: `PERSONAL_PATHS`, the personal data its payloads carry, per
  payload shape (masked on the pages, the API and the CSV; erased).

Modules are imported when first asked for, so this registry imports nothing
of Verity's and any module may use it without an import cycle.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..payload_paths import PathSet
    from .pacing import ProviderRateLimits
    from .rows import NormalisationRows
    from .webhook import ProviderWebhook

# Provider kind -> its package.
PROVIDERS: dict[str, str] = {
    "onfido": "sessions_app.providers.onfido",
    "complycube": "sessions_app.providers.complycube",
    "ica": "sessions_app.providers.ica",
}


def adapter_paths() -> dict[str, str]:
    """Return provider kind -> dotted path of its adapter class."""
    return {kind: f"{package}.adapter.ADAPTER" for kind, package in PROVIDERS.items()}


def rows_for(kind: str) -> NormalisationRows | None:
    """Return the normalisation rows of provider `kind` (None for an unknown kind)."""
    package = PROVIDERS.get(kind)
    if package is None:
        return None
    return importlib.import_module(f"{package}.rows").ROWS


def webhook_for(kind: str) -> ProviderWebhook | None:
    """Return the webhook verifier and parser of provider `kind` (None if unknown)."""
    package = PROVIDERS.get(kind)
    if package is None:
        return None
    return importlib.import_module(f"{package}.webhook").WEBHOOK


def rate_limits_for(kind: str) -> ProviderRateLimits | None:
    """Return the documented request rates of provider `kind` (None if unknown)."""
    package = PROVIDERS.get(kind)
    if package is None:
        return None
    return importlib.import_module(f"{package}.http").RATE_LIMITS


def known_hosts_for(kind: str) -> tuple[str, ...]:
    """Return the documented API hosts of provider `kind` (empty if unknown)."""
    package = PROVIDERS.get(kind)
    if package is None:
        return ()
    return tuple(importlib.import_module(f"{package}.http").KNOWN_HOSTS)


ReasonWords = Callable[[Mapping[str, Any], Sequence[Any]], list[str]]


def reason_words_for(kind: str) -> ReasonWords | None:
    """Return provider `kind`'s `reasons.reason_words` (None if unknown)."""
    package = PROVIDERS.get(kind)
    if package is None:
        return None
    return importlib.import_module(f"{package}.reasons").reason_words


# Payload shapes the declared paths are given for (`<name>/secrets.py`,
# `<name>/personal.py`): a session's stored raw payload, a check's, a
# provider client's, a check's breakdown, a session as listed (what a
# quarantined row keeps) and a webhook delivery's body.
PAYLOAD_SHAPES = ("session", "check", "client", "breakdown", "listed", "webhook")


@functools.cache
def secret_paths_for(kind: str, shape: str) -> PathSet:
    """The credentials of provider `kind` in payload `shape`: never stored."""
    from ..payload_paths import PathSet

    package = PROVIDERS.get(kind)
    if package is None:
        return PathSet(())
    module = importlib.import_module(f"{package}.secrets")
    return PathSet(
        module.SECRET_PATHS.get(shape, ()),
        value_markers=getattr(module, "SECRET_VALUE_MARKERS", ()),
    )


@functools.cache
def personal_paths_for(kind: str, shape: str) -> PathSet:
    """The personal data of provider `kind` in payload `shape`: masked, erased."""
    from ..payload_paths import PathSet

    package = PROVIDERS.get(kind)
    if package is None:
        return PathSet(())
    module = importlib.import_module(f"{package}.personal")
    return PathSet(module.PERSONAL_PATHS.get(shape, ()))
