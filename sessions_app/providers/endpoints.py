"""What a provider connection may point at: the guard between the admin and the
server's secrets.

A connection names environment variables (its credential, its webhook secret)
and a base URL, and every sync sends the credential's value to that URL. Left
free, an admin could name `DJANGO_SECRET_KEY` and point the URL at a host of
their own, or name a public variable (`PATH`) as the webhook secret and forge
webhooks. So:

- a variable a connection names must start with `VERITY_PROVIDER_ENV_PREFIX`
  (default `VERITY_PROVIDER_`): only variables the operator exported for the
  providers can be named;
- a base URL must be `https://` on one of the provider kind's documented API
  hosts (`<provider>/http.py: KNOWN_HOSTS`), or on a host of
  `VERITY_PROVIDER_ALLOWED_HOSTS` (exact host, or `.example.com` for the domain
  and its subdomains; http or https), which local and test settings set to the
  simulator's 127.0.0.1 and localhost. No user name or password in the URL.

The same check runs in the model's validation (admin form, `configure_provider`)
and again when a sync reads the credential (`connection_config`), so a row saved
before the rule, or written around the validation, is refused with a
configuration error instead of being used.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.utils.http import is_same_domain

from .registry import known_hosts_for


def provider_env_prefix() -> str:
    """The prefix every variable a connection names must carry."""
    return settings.VERITY_PROVIDER_ENV_PREFIX


def env_name_problem(name: str) -> str | None:
    """Why a connection may not name variable `name` (None: it may)."""
    prefix = provider_env_prefix()
    if not name.startswith(prefix) or len(name) <= len(prefix):
        return (
            f"{name!r} does not start with {prefix!r}: a connection may only name "
            f"the variables exported for the providers, {prefix}<NAME> "
            "(setting VERITY_PROVIDER_ENV_PREFIX)."
        )
    return None


def allowed_hosts(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the kind's documented hosts, the hosts the settings add to every kind)."""
    return known_hosts_for(kind), tuple(settings.VERITY_PROVIDER_ALLOWED_HOSTS)


def base_url_problem(kind: str, base_url: str) -> str | None:
    """Why a connection of `kind` may not send its credential to `base_url`."""
    try:
        parts = urlsplit(base_url.strip())
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return f"{base_url!r} is not a valid URL."
    if parts.scheme not in ("https", "http") or not host:
        return f"{base_url!r} is not an http(s) URL with a host."
    if parts.username is not None or parts.password is not None:
        return "The base URL may not carry a user name or password."
    known, extra = allowed_hosts(kind)
    if host in known:
        if parts.scheme != "https":
            return f"{host} must be reached over https://."
        return None
    if any(is_same_domain(host, pattern) for pattern in extra):
        return None
    listed = ", ".join(known) or "none documented"
    return (
        f"{host} is not a known API host of this provider ({listed}) nor in "
        "VERITY_PROVIDER_ALLOWED_HOSTS: Verity sends the credential only there."
    )


def connection_endpoint_problems(
    *, kind: str, base_url: str, credential_env: str, webhook_secret_env: str
) -> dict[str, str]:
    """Field name -> why the connection may not use it (empty: all allowed)."""
    problems: dict[str, str] = {}
    if base_url and (problem := base_url_problem(kind, base_url)):
        problems["base_url"] = problem
    if credential_env and (problem := env_name_problem(credential_env)):
        problems["credential_env"] = problem
    if webhook_secret_env and (problem := env_name_problem(webhook_secret_env)):
        problems["webhook_secret_env"] = problem
    return problems
