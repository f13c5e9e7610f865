"""Rebuild every stored session's reasons in Verity's words.

Run it after a provider's reason table (`reason_kinds` in its `rows.py`) or
its reason words (`reasons.py`) change: the sync classifies the sessions it
writes, but an unchanged session is not rewritten.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ...sync.reasons import session_reasons_reapply


class Command(BaseCommand):
    help = "Rebuild every stored session's reasons from its provider's reason table."

    def handle(self, *args, **options) -> None:
        count = session_reasons_reapply()
        self.stdout.write(f"Re-read the reasons of {count} session(s).")
