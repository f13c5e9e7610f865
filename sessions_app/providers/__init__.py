"""Provider adapters: one package per provider (listed in `registry.py`), each
behind `base.ProviderAdapter`.

`adapter_for(connection)` is the only way the rest of Verity obtains one: it
reads the credential from the environment variable the connection names, so
secrets never pass through the database, task arguments or logs, and only
after checking that the variable carries the provider prefix and the base URL
is one the provider serves from (`endpoints.py`): a connection saved before
that rule, or around the model's validation, fails its sync with a
configuration error instead of sending a server secret to another host.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

from ..exceptions import ProviderConfigurationError
from .base import ConnectionConfig, ProviderAdapter
from .endpoints import base_url_problem, env_name_problem
from .pacing import EffectiveRateLimit, rate_limit_effective
from .registry import adapter_paths, rate_limits_for

if TYPE_CHECKING:
    from ..models import ProviderConnection

# Provider kind -> dotted path of its adapter class (tests swap in fakes here).
ADAPTERS: dict[str, str] = adapter_paths()


def adapter_class(kind: str) -> type[ProviderAdapter]:
    try:
        module_path, _, name = ADAPTERS[kind].rpartition(".")
    except KeyError:
        raise ProviderConfigurationError(f"Unknown provider kind {kind!r}.") from None
    return getattr(importlib.import_module(module_path), name)


def connection_config(connection: ProviderConnection) -> ConnectionConfig:
    """Build the adapter's view of a connection, reading its secret from the environment.

    Refuses (ProviderConfigurationError, before any read of the variable or any
    request) a variable without the provider prefix or a host not allowed.
    """
    problem = env_name_problem(connection.credential_env) or base_url_problem(
        connection.kind, connection.base_url
    )
    if problem:
        raise ProviderConfigurationError(
            f"Connection {connection.slug!r} refused: {problem} "
            "Correct it in the admin or with configure_provider."
        )
    credential = os.environ.get(connection.credential_env, "")
    if not credential:
        raise ProviderConfigurationError(
            f"Environment variable {connection.credential_env} (credential of "
            f"{connection.slug!r}) is not set."
        )
    return ConnectionConfig(
        slug=connection.slug,
        kind=connection.kind,
        base_url=connection.base_url.rstrip("/"),
        credential=credential,
        options=dict(connection.options or {}),
        rate_limit_per_second=connection.rate_limit_per_second,
    )


def adapter_for(connection: ProviderConnection) -> ProviderAdapter:
    return adapter_class(connection.kind)(connection_config(connection))


def connection_rate_limit(connection: ProviderConnection) -> EffectiveRateLimit:
    """The rate `connection` is paced to and where it comes from, for the admin
    and /sync/. Never raises: a bad `environment` option is shown as such."""
    # The credential's prefix tells live from sandbox; a variable without the
    # provider prefix is never read, not even for that.
    name = connection.credential_env or ""
    credential = None if env_name_problem(name) else os.environ.get(name) or None
    try:
        return rate_limit_effective(
            rate_limits_for(connection.kind),
            override=connection.rate_limit_per_second,
            credential=credential,
            options=connection.options if isinstance(connection.options, dict) else {},
        )
    except ProviderConfigurationError as exc:
        return EffectiveRateLimit(0.0, str(exc))
