"""`manage.py audit_verify`: walk the audit trail's hash chain.

    python manage.py audit_verify [--chunk-size N]

Streams every event in sequence order (N per round trip, memory constant),
recomputes each hash and link (`privacy.audit_chain`), records the finding
(the /sync/ page shows the newest) and writes it to the chain as an
`audit_chain.verify` event. Prints one line: intact with the count, or where
the chain first breaks (sequence, event id, and what: edited, deleted,
relinked, reordered, rewritten, head). Exit status 0 when intact, 1 when
broken. The daily beat task (`tasks.audit_chain_verify_daily`) runs the same.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.privacy.audit_chain import (
    VERIFY_CHUNK_SIZE,
    audit_chain_verify,
    finding_summary,
)


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exit 1 where it breaks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=VERIFY_CHUNK_SIZE,
            help=f"events read per round trip (default {VERIFY_CHUNK_SIZE})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        verification = audit_chain_verify(chunk_size=options["chunk_size"])
        summary = finding_summary(verification)
        if not verification.intact:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))
