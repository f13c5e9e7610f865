"""Recompute the sessions' attention clocks and due times from the rules
(cases/sla.py), or check that the stored ones agree.

The sync and the case services keep them as sessions change; a rebuild is
for after VERITY_SLA_RULES or VERITY_SLA_HOLIDAYS change (stored due times
follow the rules they were computed under), or if `--check` reports a drift.
Set-based: a few UPDATE statements, however many sessions.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ...cases.sla import sla_rebuild


class Command(BaseCommand):
    help = "Recompute the sessions' due times from the SLA rules (or --check them)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only count the sessions whose stored values disagree; exit 1 if any.",
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        if check:
            wrong = sla_rebuild(check=True)
            for column, rows in wrong.items():
                self.stdout.write(f"{column}: {rows} session(s) disagree")
            if any(wrong.values()):
                raise CommandError(
                    "Stored due times disagree with the rules; run `manage.py sla_rebuild`."
                )
            self.stdout.write("Due times agree with the rules.")
            return
        with transaction.atomic():
            written = sla_rebuild()
        self.stdout.write(
            f"Due times rebuilt: {written['sessions']} session(s) written."
        )
