"""The health check's read: can the database answer at all."""

from __future__ import annotations

from django.db import connection


def database_reachable() -> bool:
    """Return whether the default database answers `SELECT 1`.

    Any database failure means "not ready", so every exception is caught.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # any database failure means "not ready"
        return False
    return True
