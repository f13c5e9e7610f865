"""`manage.py sync_providers`: sync providers in the foreground, to the end.

    python manage.py sync_providers [--provider SLUG ...] [--full]

Runs the same service the Celery worker runs (`sync.provider_sync`), under the
same per-connection lease, repeating bounded runs until each provider's pass
is done. Shows a progress bar (a running count of sessions and pages) on a
terminal and one plain line per committed page otherwise, then a summary per
provider. Without --provider, every enabled connection is synced; a named
connection is synced even if disabled (an operator asked for it).

One provider failing, even with an error outside the engine's own handling,
never stops the others. Exit status: 0 when every provider's pass finished;
1 when any provider failed; 3 when none failed but some were skipped because
another sync (usually the worker's) holds the lease, so this command synced
nothing for them (the worker carries the pass on; run it again later).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import ProviderConnection, SyncRun, SyncRunState, SyncTrigger
from sessions_app.sync.engine import BatchResult, provider_sync_pass

logger = logging.getLogger(__name__)

FAILED_STATES = {SyncRunState.FAILED, SyncRunState.RATE_LIMITED}
# Exit status when nothing failed but a provider was skipped (lease held).
EXIT_SKIPPED = 3


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
        skipped: list[str] = []
        for connection in connections:
            started = time.monotonic()
            runs: list[SyncRun] = []
            try:
                runs = self._sync_one(
                    connection, trigger=trigger, full=options["full"], runs=runs
                )
            except Exception as exc:  # one provider's crash must not stop the rest
                logger.exception("Sync of %s crashed.", connection.slug)
                self._crashed(connection, runs, exc, time.monotonic() - started)
                failed.append(connection.slug)
                continue
            outcome = self._summarise(connection, runs, time.monotonic() - started)
            if outcome == "failed":
                failed.append(connection.slug)
            elif outcome == "skipped":
                skipped.append(connection.slug)
        problems = []
        if failed:
            problems.append(f"Sync failed for: {', '.join(failed)}.")
        if skipped:
            problems.append(
                f"Skipped, another sync holds the lease: {', '.join(skipped)} "
                "(nothing synced for them by this command; run it again later)."
            )
        if problems:
            raise CommandError(
                " ".join(problems), returncode=1 if failed else EXIT_SKIPPED
            )

    def _sync_one(
        self,
        connection: ProviderConnection,
        *,
        trigger: str,
        full: bool,
        runs: list[SyncRun],
    ) -> list[SyncRun]:
        """Run the provider's pass; `runs` collects the runs that committed a page.

        Returns the runs of the pass. If the pass raises, `runs` still holds
        what was committed before the error (for the crash report).
        """
        tty = _is_tty(self.stdout)
        bar = None
        if tty:
            from tqdm import tqdm

            # Adapters cannot tell a total without listing everything first,
            # so the bar counts sessions and pages as they commit.
            bar = tqdm(
                desc=connection.slug,
                unit=" sessions",
                file=self.stdout._out,
                leave=False,
                dynamic_ncols=True,
            )
        totals = {"seen": 0, "pages": 0}

        def on_page(run: SyncRun, result: BatchResult) -> None:
            if not runs or runs[-1].pk != run.pk:
                runs.append(run)
            totals["seen"] += result.seen
            totals["pages"] += 1
            if bar is not None:
                bar.update(result.seen)
                bar.set_postfix(
                    runs=len(runs),
                    pages=totals["pages"],
                    created=sum(r.created for r in runs),
                    updated=sum(r.updated for r in runs),
                )
            else:
                self.stdout.write(
                    f"{connection.slug}: run {run.pk} page {run.pages} committed: "
                    f"{result.seen} seen, {result.created} created, "
                    f"{result.updated} updated ({totals['seen']} seen so far)"
                )
                self.stdout.flush()

        try:
            return provider_sync_pass(
                connection=connection, trigger=trigger, full=full, on_page=on_page
            )
        finally:
            if bar is not None:
                bar.close()

    def _crashed(
        self,
        connection: ProviderConnection,
        runs: list[SyncRun],
        exc: Exception,
        seconds: float,
    ) -> None:
        """Print the summary of a provider whose pass raised."""
        committed = sum(run.seen for run in runs)
        self.stdout.write(
            self.style.ERROR(
                f"{connection.slug}: failed in {seconds:.1f}s (crashed after "
                f"{len(runs)} run(s) with committed pages, {committed} seen): "
                f"{type(exc).__name__}: {exc}"
            )
        )

    def _summarise(
        self, connection: ProviderConnection, runs: list[SyncRun], seconds: float
    ) -> str:
        """Print one provider's summary; return "failed", "skipped" or "ok"."""
        if not runs:
            self.stdout.write(self.style.ERROR(f"{connection.slug}: no run recorded."))
            return "failed"
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
            return "failed"
        if last.state == SyncRunState.SKIPPED:
            self.stdout.write(self.style.WARNING(line))
            self.stdout.write(
                self.style.WARNING(
                    f"  NOT SYNCED by this command: {last.error} "
                    "That sync carries the pass on; run this again once it is done."
                )
            )
            return "skipped"
        self.stdout.write(self.style.SUCCESS(line))
        return "ok"
