"""The Celery app. Settings come from Django settings under the CELERY_ prefix.

Two queues, declared here so routing lives with the app and not in settings:

- `celery` (the default): `sync_connection`, the long bounded syncs (up to
  VERITY_SYNC_MAX_SECONDS each).
- `verity.control`: the beat tick `dispatch_due_syncs` and the webhook
  `session_refresh`, both short. On their own queue they never wait behind
  syncs: a worker pool busy with syncs would otherwise let ticks expire
  ("Discarding revoked task") and keep a refresh waiting for minutes.

A worker started without `-Q` consumes both; docs/operations.md shows how to
run a dedicated control worker and sync-only workers.
"""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

SYNC_QUEUE = "celery"
CONTROL_QUEUE = "verity.control"
CONTROL_TASKS = (
    "sessions_app.tasks.dispatch_due_syncs",
    "sessions_app.tasks.session_refresh",
)

app = Celery("verity")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_default_queue=SYNC_QUEUE,
    # Each queue is bound by its own routing key: without one, Celery binds
    # both to the default key and every message would land in both queues.
    task_queues=(
        Queue(SYNC_QUEUE, routing_key=SYNC_QUEUE),
        Queue(CONTROL_QUEUE, routing_key=CONTROL_QUEUE),
    ),
    task_routes={name: {"queue": CONTROL_QUEUE} for name in CONTROL_TASKS},
)
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _setup_beat(sender: Celery, **kwargs: object) -> None:
    """Schedule the one beat tick that dispatches due provider connections.

    Per-connection intervals live in the database (admin-editable); beat only
    ticks. `expires` drops ticks that waited too long so no backlog piles up;
    the tick goes to the control queue (task_routes), so it is not kept
    waiting by syncs.
    """
    from django.conf import settings

    tick = settings.VERITY_BEAT_TICK_SECONDS
    sender.add_periodic_task(
        float(tick),
        sender.signature("sessions_app.tasks.dispatch_due_syncs"),
        name="verity: dispatch due provider syncs",
        expires=float(tick),
    )
