"""The Celery app. Settings come from Django settings under the CELERY_ prefix.

Two queues, declared here so routing lives with the app and not in settings:

- `celery` (the default): `sync_connection`, the long bounded syncs (up to
  VERITY_SYNC_MAX_SECONDS each).
- `verity.control`: the beat ticks `dispatch_due_syncs` and
  `webhook_deliveries_sweep` (the webhook outbox's relay) and the webhook
  `session_refresh`, all short. On their own queue they never wait behind
  syncs: a worker pool busy with syncs would otherwise let ticks expire
  ("Discarding revoked task") and keep a refresh waiting for minutes.

A worker started without `-Q` consumes both; docs/operations.md shows how to
run a dedicated control worker and sync-only workers.

Shutdown: a SIGTERM to the worker's main process (every deploy) is a warm
shutdown: it stops consuming and waits for the running tasks. The pool
children are not signalled, so a running sync would carry on to the end of
its budget; `_pool_children_stop` forwards the shutdown to them as
`sync.stopping.STOP_SIGNAL`, and each sync stops after its current page,
commits it, marks its run `interrupted`, releases its lease and enqueues its
continuation (tasks.sync_connection); a solo or threads pool's syncs, which
run in the main process, are asked there directly. The children get that signal's handler
from `worker_process_init` (billiard resets SIGTERM in a child after
Celery's initializer runs, but not this signal). A SIGTERM sent to a child
itself (systemd signals the whole control group; a cold shutdown terminates
the pool) is handled by the task the same way, then the child exits.

The embedded broker (kombu's filesystem transport) needs its folders to exist;
`broker_folders_ensure` creates them, and the app's `ready()` calls it in
every process that starts Django (web server, worker, beat, commands).
"""

import logging
import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_init, worker_process_init, worker_shutting_down
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

SYNC_QUEUE = "celery"
CONTROL_QUEUE = "verity.control"
CONTROL_TASKS = (
    "sessions_app.tasks.dispatch_due_syncs",
    "sessions_app.tasks.webhook_deliveries_sweep",
    "sessions_app.tasks.session_refresh",
)

logger = logging.getLogger(__name__)

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
# Task modules beside `sessions_app.tasks` (autodiscovery finds only that one).
app.conf.include = ["sessions_app.tasks_retention"]


@app.on_after_finalize.connect
def _setup_beat(sender: Celery, **kwargs: object) -> None:
    """Schedule the beat ticks: dispatch due provider connections, sweep the
    webhook outbox; the daily audit chain verification and retention sweep.

    Per-connection intervals live in the database (admin-editable); beat only
    ticks. `expires` drops ticks that waited too long so no backlog piles up;
    the ticks go to the control queue (task_routes), so they are not kept
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
    sender.add_periodic_task(
        float(tick),
        sender.signature("sessions_app.tasks.webhook_deliveries_sweep"),
        name="verity: re-enqueue webhook refreshes still owed",
        expires=float(tick),
    )
    # Waiting-for-information cases whose date has passed go back to work
    # (an index range of the waiting cases; usually empty).
    sender.add_periodic_task(
        float(settings.VERITY_CASE_WAITING_RETURN_SECONDS),
        sender.signature("sessions_app.tasks.cases_waiting_return_due"),
        name="verity: bring waiting cases back to work",
        expires=float(settings.VERITY_CASE_WAITING_RETURN_SECONDS),
    )
    # Once a day (VERITY_AUDIT_VERIFY_HOUR, UTC): walk the audit hash chain, on
    # the default queue (a million events take seconds, not a tick's share).
    sender.add_periodic_task(
        crontab(minute=17, hour=settings.VERITY_AUDIT_VERIFY_HOUR),
        sender.signature("sessions_app.tasks.audit_chain_verify_daily"),
        name="verity: verify the audit trail's hash chain",
    )
    # Once a day (VERITY_RETENTION_HOUR, UTC): erase the clients past the
    # retention clock and ask the providers for the deletions still owed.
    sender.add_periodic_task(
        crontab(minute=37, hour=settings.VERITY_RETENTION_HOUR),
        sender.signature("sessions_app.tasks_retention.retention_sweep_daily"),
        name="verity: erase clients past retention",
    )
    # Clients: once a day every client's tier, next review and gaps
    # (resumable; VERITY_REVIEW_REFRESH_HOUR, UTC), and each minute the clients
    # whose sessions the sync changed (docs/assurance.md).
    sender.add_periodic_task(
        crontab(minute=7, hour=settings.VERITY_REVIEW_REFRESH_HOUR),
        sender.signature("sessions_app.tasks.clients_review_refresh_daily"),
        name="verity: refresh every client's review schedule",
    )
    sender.add_periodic_task(
        60.0,
        sender.signature("sessions_app.tasks.clients_review_refresh_stale"),
        name="verity: refresh the clients the sync touched",
        expires=60.0,
    )


# The WorkController of this process, if it is a worker's main process.
_workers: list[object] = []


@worker_init.connect
def _worker_remember(sender: object, **kwargs: object) -> None:
    _workers.append(sender)


@worker_process_init.connect
def _pool_child_stop_signal(**kwargs: object) -> None:
    """A pool child: let STOP_SIGNAL ask its running sync to stop after the page."""
    from sessions_app.sync.stopping import stop_signal_install

    stop_signal_install()


def pool_children_pids() -> list[int]:
    """The pids of this worker's pool processes (prefork), else []."""
    pids: list[int] = []
    for worker in _workers:
        pool = getattr(worker, "pool", None)
        try:
            pids += [int(pid) for pid in pool.info.get("processes", [])]
        except Exception as exc:  # another pool (solo, threads) or not started
            logger.debug("No pool processes to stop (%s).", exc)
    return pids


@worker_shutting_down.connect
def _pool_children_stop(sig: str = "", how: str = "", **kwargs: object) -> None:
    """The worker is shutting down: ask the syncs in its children to stop after
    their current page instead of running to the end of their budget."""
    from sessions_app.sync.stopping import PROCESS_STOP, STOP_SIGNAL

    # A solo or threads pool runs its tasks in this process: ask them here.
    PROCESS_STOP.request("stopped by the worker's shutdown")
    for pid in pool_children_pids():
        try:
            os.kill(pid, STOP_SIGNAL)
        except OSError:
            continue  # already gone


def broker_folders_ensure() -> None:
    """Create the filesystem broker's folders (kombu does not create them).

    Without them every enqueue fails ("No such file or directory"): a web
    server started by gunicorn rather than `make run` would store webhook
    deliveries whose refreshes only the sweeper could rescue. Nothing to do
    for any other broker. A folder that cannot be created is logged, not
    raised: the process still starts, and enqueues say what is wrong.
    """
    from django.conf import settings

    if not str(settings.CELERY_BROKER_URL).startswith("filesystem"):
        return
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    folders = [
        options[key]
        for key in ("data_folder_in", "data_folder_out", "control_folder")
        if options.get(key)
    ]
    for folder in [*folders, settings.VAR_DIR]:
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            logger.warning("Cannot create the broker folder %s (%s).", folder, exc)
