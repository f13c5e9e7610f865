"""The provider simulator: Onfido, ComplyCube and ICA on one local port.

A real HTTP server (stdlib, threaded; no Django, no database) serving each
provider's real contract, deterministic data from a seed, sessions that move
through their statuses as simulated time passes, and fault switches.
`make run` and the end-to-end tests use it. It imports nothing of Verity's
(no Django either): it plays the providers, so it must not share code with
the client it is testing.

Layout
======
One package per provider, because what the simulator knows about a provider
is two things that change together: how its API answers (routes, auth, error
shape, paging, wire JSON, webhooks) and what its data looks like (records,
status paths, outcome coverage). Each ``<provider>/`` holds both: ``api.py``
(a `ProviderApi` subclass) and ``world.py`` (its records, generated from the
seed, and its part of the `World`); ICA's larger API also has ``render.py``
(its JSON) and ``paging.py`` (cursor and offset modes). Shared machinery sits
beside them: ``generation.py`` (seeded generation: timelines, the people
pool, session slots, ids), ``world.py`` (assembles the providers' parts into
the immutable `World`), ``api.py`` (the `ProviderApi` contract), ``wire.py``
(requests, responses, the `View` of one simulated instant), ``clock.py``,
``faults.py``, ``webhooks.py`` (signing and delivery), ``app.py`` (the
socket-free `Simulator`: dispatch, faults, the control API and its state),
``server.py`` (the HTTP server), ``config.py`` (constants). A new provider is
one new package plus a line each in ``config.py``, ``world.py`` and ``app.py``.

Running it
==========
Command: ``python manage.py simulate_providers --port 8765 [--host 127.0.0.1]
[--sessions 60] [--seed 1] [--speed 1.0] [--start ISO-8601]
[--fault [provider.]setting=value ...] [--allow-remote-control]``.

Python::

    from sessions_app.simulator.server import SimulatorServer

    sim = SimulatorServer(port=0, seed=7, sessions=30, speed=0).start()
    sim.url, sim.base_urls, sim.credentials, sim.webhook_secrets
    sim.advance(600)                                  # simulated time moves on
    sim.set_faults("complycube", rate_limit_burst=3)  # or provider="all"
    sim.state()                                       # ground truth, as /_sim/state
    sim.build_webhook(provider="onfido")              # signed, not sent
    sim.send_webhook(provider="ica", target_url="http://127.0.0.1:8000/webhooks/ica/")
    sim.stop()

``SimulatorServer(host="127.0.0.1", port=0, seed=1, sessions=60, speed=1.0,
start=None, clock=None, credentials=None, webhook_secrets=None, faults=None,
rate_limits=None, allow_remote_control=False)``: `sessions` per provider;
`speed` simulated seconds per real second (0 freezes time; `advance()` still
works); `start` anchors timestamps (default: now); `faults` maps "all" or a
provider to fault settings; `rate_limits` maps a provider to requests per
second (None = unlimited). `tests/conftest.py` has a `simulator` fixture.

Base URLs, credentials (constants in `config.py`, re-exported here)
-------------------------------------------------------------------
- Onfido: ``<url>/onfido/v3.6``, header ``Authorization: Token token=sim-onfido-token``
  (SIM_ONFIDO_TOKEN). Errors ``{"error": {"type", "message", "fields"}}``.
- ComplyCube: ``<url>/complycube/v1``, header ``Authorization: sim-complycube-key``
  (SIM_COMPLYCUBE_API_KEY; the bare key, "Bearer ..." is rejected). Errors
  ``{"type", "message"[, "param"]}``.
- ICA: ``<url>/ica/rest``, header ``X-API-Key: sim-ica-key`` (SIM_ICA_API_KEY) and
  ``Accept: application/vnd.illumina.v3+json`` (else 400, title ``ICA_API_004``).
  Errors ``application/problem+json`` ``{type, title, status, detail, timestamp,
  parameters}``; ``title`` is ICA's error code where one is known
  (``ICA_API_004`` bad Accept, ``ICA_SEC_001`` bad key, ``ICA_GENR_003`` not
  found, ``ICA_API_010`` bad page token), else the HTTP reason phrase. ICA projects are the clients; their ids are in
  ``GET /_sim/`` (``ica_project_ids``) and ``/_sim/state``.

Rate limits (token buckets, real time): Onfido 400/min, ComplyCube 10/s, ICA
20/s by default. A 429 carries ``Retry-After`` (seconds) from ComplyCube only,
by default (setting ``retry_after_seconds``). See each provider module's
docstring for paging and filter details (``onfido/api.py``,
``complycube/api.py``, ``ica/api.py`` and ``ica/paging.py``).

Data (world.py, generation.py, <provider>/world.py)
----------------------------------------------------
Deterministic from (seed, sessions); `start` only shifts timestamps. About 75 %
of sessions are historical and final at start, 15 % in flight, 10 % created
after start (`not_yet_created` in the state). With sessions >= 15, every
status word of Verity's normalisation table is served at start for every
provider, and check results cover every outcome. Clients hold several sessions; a third of
the Onfido applicants are ComplyCube clients too (customer_user_id ==
externalId). Two ComplyCube-only names are hostile on purpose (a CSV formula,
HTML). Onfido task ids are unique in the simulator, but key checks on the
report ``uuid`` in the task output (or run id + task id): real task ids are
short and may repeat across runs. ComplyCube's undocumented ``policyAssurance``
items are ``{policyId, policyName, outcome (clear|attention|rejected),
evaluatedAt, rules}`` (see ``complycube/api.py``).

Webhooks
========
Every webhook is a POST with ``Content-Type: application/json``; the signature
covers the exact raw body bytes (verify before parsing). Secrets default to
SIM_ONFIDO_WEBHOOK_SECRET, SIM_COMPLYCUBE_WEBHOOK_SECRET, SIM_ICA_WEBHOOK_SECRET.
Redelivering the same event about the same state gives the same body and id.

Onfido
    Header ``X-SHA2-Signature``: lower-case hex HMAC-SHA256(secret, raw body).
    Body ``{"payload": {"resource_type": "workflow_run", "action":
    "workflow_run.completed", "object": {"id": <run id>, "status",
    "started_at_iso8601", "completed_at_iso8601", "href": <run URL>},
    "resource": <the WorkflowRun as GET /workflow_runs/{id} serves it, plus
    "workflow_run_id"; null tags become []>}}``. Also ``workflow_task.started`` /
    ``workflow_task.completed`` (resource_type ``workflow_task``; object id =
    task id, object carries ``workflow_run_id``; resource = the Task plus
    ``applicant_id`` and ``status``). Onfido sends NO event id: key deliveries
    on the SHA-256 hex of the raw body (what `WebhookMessage.delivery_id` is).
ComplyCube
    Header ``ComplyCube-Signature``: lower-case hex HMAC-SHA256(secret, raw body).
    Body ``{"id": <event id, 24 hex>, "type": "workflow.session.completed",
    "resourceType": "workflowSession", "payload": {"id", "status", "outcome"
    (when complete), "createdAt", "updatedAt"}, "createdAt"}``. Event id field:
    ``id``. Types: ``workflow.session.{started,processing,completed,cancelled,
    abandoned,updated}``; also ``check.{pending,completed,failed}`` with
    ``resourceType: "check"`` and the check's id/status/outcome.
ICA
    Header ``X-ICA-Webhook-Secret: <secret>`` (ICA documents no HMAC; Verity
    compares this shared secret in constant time). Body ``{"correlationId":
    <uuid, the event id>, "timestamp", "eventCode": "ICA_WFS_001" (started) |
    "ICA_WFS_002" (failed) | "ICA_WFS_003" (succeeded), "description",
    "projectId", "payloadVersion": "v4", "payload": <WorkflowSessionV4 as the
    search endpoint serves it>}``. Event id field: ``correlationId``.

Control API (no auth; loopback clients only unless --allow-remote-control)
=========================================================================
- ``GET /_sim/`` base URLs, credentials, webhook secrets, ICA project ids.
- ``GET /_sim/state[?detail=0]``: per provider ``counts`` (sessions, checks,
  checks_complete, clients, tags, not_yet_created; ComplyCube also
  policy_assurances), ``by_status``, and (detail) every served session with
  its status, outcome, client, tags and checks, plus ``clients`` and ``tags``;
  top level ``shared_references`` (Onfido customer_user_id == ComplyCube
  externalId) and ``tags_total`` (distinct name+kind across providers).
  Checks are: Onfido report tasks started so far (document_check,
  facial_similarity_photo, watchlist_standard; not profile_data), ComplyCube
  ``allRelatedChecks``, ICA orchestrated analyses. Tags: Onfido run ``tags``
  (kind user), ICA ``technicalTags``/``userTags`` (nulls skipped); ComplyCube
  sessions have none.
- ``GET /_sim/faults``; ``POST /_sim/faults`` ``{"provider": "all"|name,
  <setting>: value, ...}``; ``POST /_sim/reset`` (back to start-up settings,
  request log cleared, deleted clients served again). Settings: rate_limit_burst, rate_limit_probability,
  server_error_burst, server_error_probability, server_error_status,
  delay_seconds, malformed_burst, malformed_probability (session list pages
  only), detail_malformed_burst, detail_malformed_probability (a session by
  id and its sub-resources: tasks, a task, checks, analyses, applicant,
  client, project), detail_malformed_path (a regular expression searched in
  the path under the provider prefix, narrowing the detail fault; null: all),
  unknown_enum_probability, extra_fields, rate_limit_rps, retry_after_seconds,
  delete_error_burst (the next N DELETE requests answer server_error_status:
  a provider deletion that fails, then succeeds).
- ``GET /_sim/clock``; ``POST /_sim/clock {"advance": seconds, "speed": x}``.
- ``GET /_sim/requests``: counts per provider and status, last 500 requests.
- ``POST /_sim/webhooks {"provider", "target_url", "secret"?, "event"?,
  "session_id"?, "dry_run"?}``: sends (or with dry_run only builds) a signed
  webhook; replies with the delivery result, headers and body.
"""

from __future__ import annotations

from typing import Any

from .config import (
    DEFAULT_CREDENTIALS,
    DEFAULT_WEBHOOK_SECRETS,
    SIM_COMPLYCUBE_API_KEY,
    SIM_COMPLYCUBE_WEBHOOK_SECRET,
    SIM_ICA_API_KEY,
    SIM_ICA_WEBHOOK_SECRET,
    SIM_ONFIDO_TOKEN,
    SIM_ONFIDO_WEBHOOK_SECRET,
    provider_base_urls,
)
from .webhooks import WebhookMessage, WebhookResult, hmac_sha256_hex

__all__ = [
    "DEFAULT_CREDENTIALS",
    "DEFAULT_WEBHOOK_SECRETS",
    "SIM_COMPLYCUBE_API_KEY",
    "SIM_COMPLYCUBE_WEBHOOK_SECRET",
    "SIM_ICA_API_KEY",
    "SIM_ICA_WEBHOOK_SECRET",
    "SIM_ONFIDO_TOKEN",
    "SIM_ONFIDO_WEBHOOK_SECRET",
    "WebhookMessage",
    "WebhookResult",
    "build_webhook",
    "hmac_sha256_hex",
    "provider_base_urls",
    "send_webhook",
]


def build_webhook(*, simulator: Any, **options: Any) -> WebhookMessage:
    """Return a signed webhook from `simulator` (a SimulatorServer or Simulator), unsent.

    `options` are those of `app.Simulator.build_webhook` (provider, secret,
    event, session_id). POST `message.body` with `message.headers` (e.g.
    through Django's test client) to exercise a receiver without a network hop.
    """
    return simulator.build_webhook(**options)


def send_webhook(*, simulator: Any, **options: Any) -> WebhookResult:
    """Build a signed webhook from `simulator` and POST it to `target_url`.

    `options` are those of `app.Simulator.send_webhook` (provider,
    target_url, secret, event, session_id, timeout).
    """
    return simulator.send_webhook(**options)
