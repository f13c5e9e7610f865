"""The Celery app. Settings come from Django settings under the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("verity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _setup_beat(sender: Celery, **kwargs: object) -> None:
    """Schedule the one beat tick that dispatches due provider connections.

    Per-connection intervals live in the database (admin-editable); beat only
    ticks. `expires` drops ticks that waited too long so no backlog piles up.
    """
    from django.conf import settings

    tick = settings.VERITY_BEAT_TICK_SECONDS
    sender.add_periodic_task(
        float(tick),
        sender.signature("sessions_app.tasks.dispatch_due_syncs"),
        name="verity: dispatch due provider syncs",
        expires=float(tick),
    )
