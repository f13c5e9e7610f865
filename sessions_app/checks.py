"""System checks: a misconfigured provider connection is reported at start-up
(`manage.py check`), not discovered by a failing sync at 3 a.m."""

from __future__ import annotations

import os
from typing import Any

from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError


@register(Tags.database, deploy=True)
def provider_connections_check(app_configs: Any = None, **kwargs: Any) -> list:
    from .models import ProviderConnection

    messages: list = []
    try:
        connections = list(ProviderConnection.objects.filter(enabled=True))
    except DatabaseError:
        return messages  # not migrated yet: `migrate` comes first
    for connection in connections:
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
        if connection.webhook_secret_env and not os.environ.get(connection.webhook_secret_env):
            messages.append(
                Warning(
                    f"Provider connection {connection.slug!r}: webhook secret variable "
                    f"{connection.webhook_secret_env} is not set; its webhooks will be refused.",
                    obj=connection,
                    id="verity.W002",
                )
            )
        if not connection.base_url.startswith(("https://", "http://127.", "http://localhost")):
            messages.append(
                Error(
                    f"Provider connection {connection.slug!r}: base URL must use HTTPS.",
                    obj=connection,
                    id="verity.E001",
                )
            )
    return messages
