"""A process that syncs or refreshes one connection, for the shared-pace tests.

    python -m tests.helpers.pace_worker <sync|refresh> <kind> <slug> <base_url> <credential> <rate> [ids...]

It prints "ready", waits for a line on stdin (so that two workers start
together), then either walks one full pass (`iter_pages`, what a sync does)
or fetches each id (`fetch_session`, what a webhook refresh does), and prints
its first and last wall-clock time. VERITY_RATE_LIMIT_URL in its environment
chooses the shared backend.
"""

from __future__ import annotations

import os
import sys
import time


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from sessions_app.providers import adapter_class
    from sessions_app.providers.base import Budget, ConnectionConfig

    mode, kind, slug, base_url, credential, rate, *ids = argv
    config = ConnectionConfig(
        slug=slug,
        kind=kind,
        base_url=base_url,
        credential=credential,
        rate_limit_per_second=float(rate),
    )
    adapter = adapter_class(kind)(config)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    if mode == "sync":
        cursor: dict = {}
        while True:
            page = None
            for page in adapter.iter_pages(cursor=cursor, budget=Budget(), full=True):
                cursor = page.cursor
            if page is None or page.done:
                break
    else:
        for external_id in ids:
            adapter.fetch_session(external_id)
    print(f"span {started} {time.time()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
