"""`manage.py sync_providers`: sync providers in the foreground, to the end.

    python manage.py sync_providers [--provider SLUG ...] [--full]

Runs `sync.engine.providers_sync_all` (the engine's tests cover it): the same
service the Celery worker runs (`provider_sync`), under the same per-connection
lease, repeating bounded runs until each provider's pass is done. This command
only shows it (`_Progress`): a progress bar (a running count of sessions and
pages) on a terminal and one plain line per committed page otherwise, then a
summary per provider. Without --provider, every enabled connection is synced; a named
connection is synced even if disabled (an operator asked for it).

One provider failing, even with an error outside the engine's own handling,
never stops the others. Exit status: 0 when every provider's pass finished;
1 when any provider failed; 3 when none failed but some were skipped because
another sync (usually the worker's) holds the lease, so this command synced
nothing for them (the worker carries the pass on; run it again later).

SIGTERM or SIGINT (Ctrl-C) stops it cleanly (`sync.stopping`): the current
page is finished and committed with its cursor, the run is marked
`interrupted`, the lease released, and no other provider is started; the
exit status is 128 + the signal's number (143, 130). The next run, of this
command or of the worker, resumes from there at once. A second signal stops
at once: the open page is rolled back, the run is still marked interrupted.
"""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.models import ProviderConnection, SyncRun, SyncRunState, SyncTrigger
from sessions_app.sync.engine import (
    ConnectionPass,
    PassObserver,
    providers_sync_all,
)
from sessions_app.sync.stopping import PROCESS_STOP, stop_on_signals
from sessions_app.sync.upsert import BatchResult

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
            known = set(
                ProviderConnection.objects.filter(slug__in=slugs).values_list(
                    "slug", flat=True
                )
            )
            missing = sorted(set(slugs) - known)
            if missing:
                raise CommandError(
                    f"Unknown provider connection(s): {', '.join(missing)}."
                )
        elif not ProviderConnection.objects.filter(enabled=True).exists():
            self.stdout.write(
                "No enabled provider connections. Add one with configure_provider."
            )
            return
        full: bool = options["full"]
        PROCESS_STOP.clear()  # a stop asked of an earlier command in this process
        with stop_on_signals(PROCESS_STOP) as stop:
            passes = providers_sync_all(
                trigger=SyncTrigger.FULL if full else SyncTrigger.MANUAL,
                full=full,
                slugs=slugs,
                observer=_Progress(self),
                stop=stop,
            )
        if stop.requested:
            self._interrupted(stop.reason, stop.signum, passes, slugs)
        failed = [
            slug for slug, result in passes.items() if _outcome(result) == "failed"
        ]
        skipped = [
            slug for slug, result in passes.items() if _outcome(result) == "skipped"
        ]
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

    def _interrupted(
        self,
        reason: str,
        signum: int | None,
        passes: dict[str, ConnectionPass],
        slugs: list[str],
    ) -> None:
        """Say what a stop left undone and exit with 128 + the signal's number."""
        reached = set(passes)
        wanted = slugs or ProviderConnection.objects.filter(enabled=True).order_by(
            "slug"
        ).values_list("slug", flat=True)
        not_started = [slug for slug in wanted if slug not in reached]
        message = (
            f"Interrupted ({reason}): the current page was committed and the lease "
            "released; the next sync resumes from there."
        )
        if not_started:
            message += f" Not started: {', '.join(not_started)}."
        raise CommandError(message, returncode=128 + (signum or signal.SIGTERM))


def _outcome(result: ConnectionPass) -> str:
    """Return "failed", "skipped" or "ok" for one provider's pass."""
    if result.crash is not None or not result.runs:
        return "failed"
    last = result.runs[-1]
    if last.state in FAILED_STATES or (
        last.state == SyncRunState.PARTIAL and last.pages == 0
    ):
        return "failed"
    if last.state == SyncRunState.SKIPPED:
        return "skipped"
    if last.state == SyncRunState.INTERRUPTED:
        return "interrupted"
    return "ok"


class _Progress(PassObserver):
    """Shows the passes as `providers_sync_all` runs them: a progress bar (a
    running count of sessions and pages) on a terminal, one plain line per
    committed page otherwise, and a summary per provider."""

    def __init__(self, command: BaseCommand) -> None:
        self.stdout = command.stdout
        self.style = command.style
        self.bar: Any = None
        self.runs: list[SyncRun] = []
        self.seen = 0
        self.pages = 0

    def pass_started(self, connection: ProviderConnection) -> None:
        self.runs, self.seen, self.pages = [], 0, 0
        self.bar = None
        if _is_tty(self.stdout):
            from tqdm import tqdm

            # Adapters cannot tell a total without listing everything first,
            # so the bar counts sessions and pages as they commit.
            self.bar = tqdm(
                desc=connection.slug,
                unit=" sessions",
                file=self.stdout._out,
                leave=False,
                dynamic_ncols=True,
            )

    def page_committed(
        self, connection: ProviderConnection, run: SyncRun, result: BatchResult
    ) -> None:
        if not self.runs or self.runs[-1].pk != run.pk:
            self.runs.append(run)
        self.seen += result.seen
        self.pages += 1
        if self.bar is not None:
            self.bar.update(result.seen)
            self.bar.set_postfix(
                runs=len(self.runs),
                pages=self.pages,
                created=sum(r.created for r in self.runs),
                updated=sum(r.updated for r in self.runs),
            )
        else:
            self.stdout.write(
                f"{connection.slug}: run {run.pk} page {run.pages} committed: "
                f"{result.seen} seen, {result.created} created, "
                f"{result.updated} updated ({self.seen} seen so far)"
            )
            self.stdout.flush()

    def pass_finished(self, outcome: ConnectionPass) -> None:
        self._bar_close()
        if outcome.crash is not None:
            self._crashed(outcome)
        else:
            self._summarise(outcome)

    def pass_abandoned(self, connection: ProviderConnection) -> None:
        self._bar_close()

    def _bar_close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _crashed(self, outcome: ConnectionPass) -> None:
        """Print the summary of a provider whose pass raised."""
        exc = outcome.crash
        committed = sum(run.seen for run in outcome.runs)
        self.stdout.write(
            self.style.ERROR(
                f"{outcome.connection.slug}: failed in {outcome.seconds:.1f}s (crashed after "
                f"{len(outcome.runs)} run(s) with committed pages, {committed} seen): "
                f"{type(exc).__name__}: {exc}"
            )
        )

    def _summarise(self, outcome: ConnectionPass) -> None:
        """Print one provider's summary."""
        slug, runs = outcome.connection.slug, outcome.runs
        if not runs:
            self.stdout.write(self.style.ERROR(f"{slug}: no run recorded."))
            return
        last = runs[-1]
        totals = {
            key: sum(getattr(run, key) for run in runs)
            for key in ("seen", "created", "updated", "unchanged", "quarantined")
        }
        line = (
            f"{slug}: {last.state} in {outcome.seconds:.1f}s, {len(runs)} run(s): "
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
        outcome_word = _outcome(outcome)
        if outcome_word == "failed":
            self.stdout.write(self.style.ERROR(line))
            self.stdout.write(self.style.ERROR(f"  {last.error or 'no progress'}"))
        elif outcome_word == "interrupted":
            self.stdout.write(self.style.WARNING(line))
            self.stdout.write(self.style.WARNING(f"  {last.error}"))
        elif outcome_word == "skipped":
            self.stdout.write(self.style.WARNING(line))
            self.stdout.write(
                self.style.WARNING(
                    f"  NOT SYNCED by this command: {last.error} "
                    "That sync carries the pass on; run this again once it is done."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS(line))
