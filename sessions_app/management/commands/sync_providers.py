"""`manage.py sync_providers`: sync providers in the foreground, to the end.

    python manage.py sync_providers [--provider SLUG ...] [--full]

Runs the same service the Celery worker runs (`sync.provider_sync`), under the
same per-connection lease, repeating bounded runs until each provider's pass
is done. Shows a progress bar on a terminal and one plain line per run
otherwise; prints a summary per provider; exits non-zero if any failed.
Without --provider, every enabled connection is synced; a named connection
is synced even if disabled (an operator asked for it).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import ProviderConnection, SyncRun, SyncRunState, SyncTrigger
from sessions_app.sync import BatchResult, provider_sync_pass

FAILED_STATES = {SyncRunState.FAILED, SyncRunState.RATE_LIMITED}


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Command(BaseCommand):
    help = "Sync provider connections now, in the foreground, until each pass is done."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--provider",
            action="append",
            default=[],
            metavar="SLUG",
            help="Connection slug (repeatable). Default: every enabled connection.",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Walk everything, ignoring incremental windows.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slugs: list[str] = options["provider"]
        if slugs:
            connections = list(ProviderConnection.objects.filter(slug__in=slugs))
            missing = sorted(set(slugs) - {c.slug for c in connections})
            if missing:
                raise CommandError(
                    f"Unknown provider connection(s): {', '.join(missing)}."
                )
        else:
            connections = list(ProviderConnection.objects.filter(enabled=True))
            if not connections:
                self.stdout.write(
                    "No enabled provider connections. Add one with configure_provider."
                )
                return
        trigger = SyncTrigger.FULL if options["full"] else SyncTrigger.MANUAL
        failed: list[str] = []
        for connection in connections:
            started = time.monotonic()
            runs = self._sync_one(connection, trigger=trigger, full=options["full"])
            if self._summarise(connection, runs, time.monotonic() - started):
                failed.append(connection.slug)
        if failed:
            raise CommandError(f"Sync failed for: {', '.join(failed)}.")

    def _sync_one(
        self, connection: ProviderConnection, *, trigger: str, full: bool
    ) -> list[SyncRun]:
        tty = _is_tty(self.stdout)
        bar = None
        if tty:
            from tqdm import tqdm

            bar = tqdm(
                desc=connection.slug,
                unit=" sessions",
                file=self.stdout._out,
                leave=False,
                dynamic_ncols=True,
            )

        def on_page(run: SyncRun, result: BatchResult) -> None:
            if bar is not None:
                bar.update(result.seen)
                bar.set_postfix(
                    pages=run.pages, created=run.created, updated=run.updated
                )

        try:
            runs = provider_sync_pass(
                connection=connection, trigger=trigger, full=full, on_page=on_page
            )
        finally:
            if bar is not None:
                bar.close()
        if not tty:
            for run in runs:
                self.stdout.write(
                    f"{connection.slug}: run {run.pk} {run.state}, {run.pages} page(s), "
                    f"{run.seen} seen"
                )
        return runs

    def _summarise(
        self, connection: ProviderConnection, runs: list[SyncRun], seconds: float
    ) -> bool:
        """Print one provider's summary; return True if it failed."""
        if not runs:
            self.stdout.write(self.style.ERROR(f"{connection.slug}: no run recorded."))
            return True
        last = runs[-1]
        totals = {
            key: sum(getattr(run, key) for run in runs)
            for key in ("seen", "created", "updated", "unchanged", "quarantined")
        }
        line = (
            f"{connection.slug}: {last.state} in {seconds:.1f}s, {len(runs)} run(s): "
            f"seen {totals['seen']}, created {totals['created']}, updated {totals['updated']}, "
            f"unchanged {totals['unchanged']}, quarantined {totals['quarantined']}"
        )
        unknown: dict[str, int] = {}
        for run in runs:
            for word, count in (run.unknown_values or {}).items():
                unknown[word] = unknown.get(word, 0) + count
        if unknown:
            line += "; unknown values: " + ", ".join(
                f"{w}: {n}" for w, n in sorted(unknown.items())
            )
        failed = last.state in FAILED_STATES or (
            last.state == SyncRunState.PARTIAL and last.pages == 0
        )
        if failed:
            self.stdout.write(self.style.ERROR(line))
            self.stdout.write(self.style.ERROR(f"  {last.error or 'no progress'}"))
        elif last.state == SyncRunState.SKIPPED:
            self.stdout.write(self.style.WARNING(line + f" ({last.error})"))
        else:
            self.stdout.write(self.style.SUCCESS(line))
        return failed
