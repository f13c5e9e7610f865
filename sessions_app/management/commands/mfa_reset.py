"""`manage.py mfa_reset <username>`: the break-glass reset of a user's second factor.

For when the only administrators have lost their phones and recovery codes
(the admin's "Reset multi-factor" action needs a signed-in administrator).
The user sets up a new authenticator app at their next sign-in. Audited
(`mfa.reset`, source `command`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.access.mfa import mfa_reset
from sessions_app.selectors import user_get_by_username


class Command(BaseCommand):
    help = "Reset a user's multi-factor devices: they enrol again at next sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            user = user_get_by_username(username=username)
        except ObjectDoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if mfa_reset(user=user, actor=None, source="command"):
            self.stdout.write(f"Multi-factor reset for {username}: they enrol again.")
        else:
            self.stdout.write(f"{username} had no second factor; nothing to reset.")
