"""`manage.py configure_provider`: create or update one provider connection.

Idempotent: running the same command twice leaves one connection and writes
one audit event (the second run changes nothing and says so). Secrets never
pass through here: only the NAMES of the environment variables that hold them.

    python manage.py configure_provider --kind onfido --slug onfido-eu \\
        --base-url https://api.eu.onfido.com/v3.6 \\
        --credential-env VERITY_PROVIDER_ONFIDO_API_TOKEN \\
        --webhook-secret-env VERITY_PROVIDER_ONFIDO_WEBHOOK_SECRETS \\
        --option region=eu --interval 300

Both variable names must start with VERITY_PROVIDER_ENV_PREFIX (default
`VERITY_PROVIDER_`) and the base URL must be on the provider's documented hosts
or VERITY_PROVIDER_ALLOWED_HOSTS: the model's validation refuses anything else
(sessions_app/providers/endpoints.py).

`--option key=value` may repeat. A value with commas becomes a list, as does
any value of a key ending in `_ids` (`--option project_ids=a,b`); `true`,
`false` and numbers stay text unless written as JSON (`--option x=[1,2]`).
`--option key=` removes the key. Options not named are kept.

A new connection is enabled unless `--disable` is given. An existing one keeps
its `enabled` flag (an admin may have switched it off on purpose) unless
`--enable` or `--disable` says otherwise.
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from sessions_app.models import ProviderConnection, ProviderKind
from sessions_app.services import audit_event_record, model_snapshot, snapshot_diff


def option_parse(text: str) -> tuple[str, Any]:
    """Parse one `key=value` option into (key, value); value None removes the key."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise CommandError(f"--option {text!r}: expected key=value.")
    value = value.strip()
    if value == "":
        return key, None
    if value[0] in "[{":
        try:
            return key, json.loads(value)
        except ValueError as exc:
            raise CommandError(
                f"--option {key}: {value!r} is not valid JSON ({exc})."
            ) from exc
    if "," in value or key.endswith("_ids"):
        return key, [item.strip() for item in value.split(",") if item.strip()]
    return key, value


class Command(BaseCommand):
    help = "Create or update a provider connection (idempotent, audited)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=ProviderKind.values)
        parser.add_argument("--slug", required=True)
        parser.add_argument("--base-url", required=True)
        parser.add_argument(
            "--credential-env",
            required=True,
            help="Name of the variable holding the API key (with the provider "
            "prefix, VERITY_PROVIDER_ by default).",
        )
        parser.add_argument(
            "--webhook-secret-env",
            help="Name of the variable holding webhook secret(s).",
        )
        parser.add_argument(
            "--option", action="append", default=[], metavar="KEY=VALUE"
        )
        parser.add_argument("--display-name")
        parser.add_argument(
            "--interval", type=int, help="Sync interval in seconds (at least 15)."
        )
        parser.add_argument(
            "--rate-limit", type=float, help="Most requests per second."
        )
        switch = parser.add_mutually_exclusive_group()
        switch.add_argument(
            "--enable",
            dest="enabled",
            action="store_const",
            const=True,
            default=None,
            help="Enable the connection (a new one is enabled by default).",
        )
        switch.add_argument(
            "--disable",
            dest="enabled",
            action="store_const",
            const=False,
            help="Disable the connection. Without either flag an existing "
            "connection keeps its current state.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        parsed_options = [option_parse(text) for text in options["option"]]
        with transaction.atomic():
            connection = (
                ProviderConnection.objects.select_for_update()
                .filter(slug=options["slug"])
                .first()
            )
            created = connection is None
            if connection is None:
                connection = ProviderConnection(
                    slug=options["slug"], kind=options["kind"]
                )
            elif connection.kind != options["kind"]:
                raise CommandError(
                    f"Connection {connection.slug!r} is a {connection.kind} connection; "
                    f"its kind cannot change to {options['kind']} (its data belongs to "
                    "that provider). Use another slug."
                )
            before = {} if created else model_snapshot(connection)
            self._apply(connection, options, parsed_options, created=created)
            try:
                connection.full_clean()
            except ValidationError as exc:
                problems = "; ".join(
                    f"{field}: {' '.join(messages)}"
                    for field, messages in exc.message_dict.items()
                )
                raise CommandError(f"Invalid provider connection: {problems}") from exc
            after = model_snapshot(connection)
            changed_before, changed_after = snapshot_diff(before, after)
            if not created and not changed_after:
                self.stdout.write(f"Provider connection {connection.slug!r} unchanged.")
                return
            connection.save()
            after = model_snapshot(connection)
            audit_event_record(
                actor=None,
                source="command",
                action="provider_connection.create"
                if created
                else "provider_connection.update",
                obj=connection,
                before=changed_before if not created else {},
                after=after if created else changed_after,
            )
        verb = "Created" if created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} provider connection {connection.slug!r}.")
        )
        for name in (connection.credential_env, connection.webhook_secret_env):
            if name and not os.environ.get(name):
                self.stderr.write(
                    f"Note: environment variable {name} is not set in this shell; "
                    "the worker and web server need it."
                )

    @staticmethod
    def _apply(
        connection: ProviderConnection,
        options: dict[str, Any],
        parsed_options: list[tuple[str, Any]],
        *,
        created: bool,
    ) -> None:
        connection.base_url = options["base_url"].strip()
        connection.credential_env = options["credential_env"].strip()
        if options["webhook_secret_env"] is not None:
            connection.webhook_secret_env = options["webhook_secret_env"].strip()
        if options["display_name"]:
            connection.display_name = options["display_name"].strip()
        elif created or not connection.display_name:
            connection.display_name = (
                f"{ProviderKind(connection.kind).label} ({connection.slug})"
            )
        if options["interval"] is not None:
            connection.sync_interval_seconds = options["interval"]
        if options["rate_limit"] is not None:
            connection.rate_limit_per_second = options["rate_limit"]
        if options["enabled"] is not None:
            connection.enabled = options["enabled"]
        elif created:
            connection.enabled = True
        merged = dict(connection.options or {})
        for key, value in parsed_options:
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        connection.options = merged
