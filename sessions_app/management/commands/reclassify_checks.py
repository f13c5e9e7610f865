"""Re-apply the providers' check-kind tables to every stored check.

Run it after a provider's `check_kinds` table changes (the sync classifies the
checks it writes, but an unchanged check is not rewritten).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ...sync.check_kinds import check_kinds_reclassify


class Command(BaseCommand):
    help = "Set every stored check's kind from its provider's check-kind table."

    def handle(self, *args, **options) -> None:
        changed = check_kinds_reclassify()
        self.stdout.write(f"Reclassified {changed} check(s).")
