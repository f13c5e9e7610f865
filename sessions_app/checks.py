"""System checks: a misconfigured provider connection is reported at start-up
(`manage.py check`), not discovered by a failing sync at 3 a.m.

E002: an Onfido connection whose `region` option is not eu/us/ca, or whose base
URL is an onfido.com host of another region (a token only works in its own
region); local URLs such as the simulator's are not checked.

E003: a connection naming a variable without the provider prefix or a host
the provider does not serve from (providers/endpoints.py): its sync refuses to
run until it is corrected.

E004: VERITY_FOUR_EYES_RULES names an unknown decision or outcome.

E030: VERITY_SLA_RULES or VERITY_SLA_HOLIDAYS cannot be read (cases/sla.py)."""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from .providers.endpoints import connection_endpoint_problems
from .providers.onfido.options import region_problem


@register(Tags.database, deploy=True)
def provider_connections_check(app_configs: Any = None, **kwargs: Any) -> list:
    from .models import ProviderConnection

    messages: list = []
    try:
        connections = list(ProviderConnection.objects.filter(enabled=True))
    except DatabaseError:
        return messages  # not migrated yet: `migrate` comes first
    for connection in connections:
        refused = connection_endpoint_problems(
            kind=connection.kind,
            base_url=connection.base_url,
            credential_env=connection.credential_env,
            webhook_secret_env=connection.webhook_secret_env,
        )
        for field, problem in refused.items():
            messages.append(
                Error(
                    f"Provider connection {connection.slug!r}: {field}: {problem}",
                    hint="Correct it in the admin or with configure_provider; "
                    "until then its sync and webhooks are refused.",
                    obj=connection,
                    id="verity.E003",
                )
            )
        if refused:
            continue
        if not os.environ.get(connection.credential_env):
            messages.append(
                Warning(
                    f"Provider connection {connection.slug!r}: environment variable "
                    f"{connection.credential_env} is not set, so its sync will fail.",
                    hint="Export the provider's API key under that name, or disable the connection.",
                    obj=connection,
                    id="verity.W001",
                )
            )
        if connection.webhook_secret_env and not os.environ.get(
            connection.webhook_secret_env
        ):
            messages.append(
                Warning(
                    f"Provider connection {connection.slug!r}: webhook secret variable "
                    f"{connection.webhook_secret_env} is not set; its webhooks will be refused.",
                    obj=connection,
                    id="verity.W002",
                )
            )
        if not connection.base_url.startswith(
            ("https://", "http://127.", "http://localhost")
        ):
            messages.append(
                Error(
                    f"Provider connection {connection.slug!r}: base URL must use HTTPS.",
                    obj=connection,
                    id="verity.E001",
                )
            )
    return messages


# Not a deploy-only check: `migrate` (which passes its database) and
# `manage.py check --database default` run it, so a release with a token aimed
# at the wrong Onfido region stops before its first sync.
@register(Tags.database)
def onfido_region_check(app_configs: Any = None, **kwargs: Any) -> list:
    """Report every Onfido connection whose `region` option contradicts its base URL."""
    from .models import ProviderConnection

    try:
        connections = list(
            ProviderConnection.objects.filter(kind="onfido", enabled=True)
        )
    except DatabaseError:
        return []  # not migrated yet: `migrate` comes first
    messages: list = []
    for connection in connections:
        options = connection.options if isinstance(connection.options, dict) else {}
        problem = region_problem(connection.base_url, options.get("region"))
        if problem is not None:
            messages.append(
                Error(
                    f"Provider connection {connection.slug!r}: option {problem}.",
                    hint="Use https://api.<region>.onfido.com/v3.6 with region eu, us or ca "
                    "(the region the Onfido account lives in), or drop the option.",
                    obj=connection,
                    id="verity.E002",
                )
            )
    return messages


@register()
def four_eyes_rules_check(app_configs: Any = None, **kwargs: Any) -> list:
    """E004: VERITY_FOUR_EYES_RULES must be rules the decision service can read
    (cases/rules.py); a typo must not silently drop dual control."""
    from django.conf import settings

    from .cases.rules import four_eyes_rule_problems

    rules = getattr(settings, "VERITY_FOUR_EYES_RULES", [])
    if not isinstance(rules, list | tuple):
        problems = ["it must be a list of rules"]
    else:
        problems = four_eyes_rule_problems(rules)
    return [
        Error(
            f"VERITY_FOUR_EYES_RULES: {problem}",
            hint='Each rule is {"decision": ..., "outcomes": [...]} (docs/case-work.md).',
            id="verity.E004",
        )
        for problem in problems
    ]


@register()
def sla_rules_check(app_configs: Any = None, **kwargs: Any) -> list:
    """E030: the due-time rules must be readable (cases/sla.py): a typo must
    not fail every decision, nor every sync, at run time."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from .cases.sla import sla_rules_parse

    try:
        sla_rules_parse(
            getattr(settings, "VERITY_SLA_RULES", {}),
            getattr(settings, "VERITY_SLA_HOLIDAYS", ()),
        )
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint='e.g. VERITY_SLA_RULES = {"needs_attention": 2} (docs/case-work.md).',
                id="verity.E030",
            )
        ]
    return []
