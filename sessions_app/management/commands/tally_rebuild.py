"""Recompute the session tally (the overview's counts) from the sessions, or
check that it agrees with them.

The database keeps the tally with triggers (migration 0017); a rebuild is for
after restoring a backup without them, or if `--check` ever reports a drift.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...tallies import session_tally_differences, session_tally_rebuild


class Command(BaseCommand):
    help = "Recompute the session tally from the sessions (or --check it)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only compare the tally with a real count; exit 1 if they differ.",
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        if check:
            differences = session_tally_differences()
            for key, (tally, actual) in sorted(differences.items()):
                self.stdout.write(f"{key}: tally {tally}, sessions {actual}")
            if differences:
                raise CommandError(
                    f"The session tally differs from the sessions in "
                    f"{len(differences)} place(s); run `manage.py tally_rebuild`."
                )
            self.stdout.write("The session tally agrees with the sessions.")
            return
        keys = session_tally_rebuild()
        self.stdout.write(f"Session tally rebuilt: {keys} key(s).")
