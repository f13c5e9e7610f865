"""Contract details (issue 17, item 7): new session columns, and the stored rows fixed.

Adds `user_reference` (ICA `userReference`, searchable), `decision`,
`risk_score` and `link_expires_at` (Onfido run `output` and `link`). Then,
for the rows already stored (a final session is never rewritten by the sync):

- fills the new columns from each row's raw payload;
- cuts Onfido credentials out of the raw payload (`sdk_token` at any depth,
  the run link's `url`);
- keeps `dashboard_url` only when it is https on the provider's own host
  (Onfido's regional dashboards; ComplyCube and ICA send none);
- clears ICA `completed_at` on sessions that are not final.

The rules are frozen here as they stood (docs/providers/*.md); the adapters
apply the same ones to everything synced from now on.
"""

import datetime as dt
import math
from urllib.parse import urlsplit

from django.db import migrations, models

ONFIDO_DASHBOARD_HOSTS = {
    "dashboard.onfido.com",
    "dashboard.us.onfido.com",
    "dashboard.ca.onfido.com",
}
FINAL_STATUSES = {"completed", "failed", "abandoned", "cancelled"}
BATCH = 1000


def _without_sdk_token(value):
    if isinstance(value, dict):
        return {k: _without_sdk_token(v) for k, v in value.items() if k != "sdk_token"}
    if isinstance(value, list):
        return [_without_sdk_token(v) for v in value]
    return value


def _dashboard_url(url, hosts):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    if (
        parts.scheme.lower() == "https"
        and (parts.hostname or "").lower() in hosts
        and parts.username is None
        and port in (None, 443)
        and not any(c.isspace() for c in url)
    ):
        return url
    return ""


def _timestamp(value):
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _number(value):
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _onfido_fix(session):
    raw = _without_sdk_token(session.raw_payload or {})
    run = raw.get("run") if isinstance(raw, dict) else None
    run = run if isinstance(run, dict) else {}
    link = run.get("link")
    if isinstance(link, dict):
        if "url" in link:
            run["link"] = {k: v for k, v in link.items() if k != "url"}
        session.link_expires_at = _timestamp(link.get("expires_at"))
    output = run.get("output")
    if isinstance(output, dict):
        decision = output.get("decision")
        session.decision = decision[:100] if isinstance(decision, str) else ""
        session.risk_score = _number(output.get("risk_score"))
    session.raw_payload = raw
    session.dashboard_url = _dashboard_url(
        session.dashboard_url, ONFIDO_DASHBOARD_HOSTS
    )


def _ica_fix(session):
    raw = session.raw_payload if isinstance(session.raw_payload, dict) else {}
    item = raw.get("session")
    reference = item.get("userReference") if isinstance(item, dict) else None
    session.user_reference = reference[:255] if isinstance(reference, str) else ""
    if session.status not in FINAL_STATUSES:
        session.completed_at = None
    session.dashboard_url = ""


FIXES = {
    "onfido": (
        _onfido_fix,
        ["raw_payload", "dashboard_url", "decision", "risk_score", "link_expires_at"],
    ),
    "ica": (_ica_fix, ["user_reference", "completed_at", "dashboard_url"]),
}


def stored_sessions_fix(apps, schema_editor):
    WorkflowSession = apps.get_model("sessions_app", "WorkflowSession")
    for kind, (fix, fields) in FIXES.items():
        rows = (
            WorkflowSession.objects.filter(connection__kind=kind)
            .only("pk", "status", "raw_payload", *fields)
            .order_by("pk")
        )
        batch = []
        for session in rows.iterator(chunk_size=BATCH):
            fix(session)
            batch.append(session)
            if len(batch) >= BATCH:
                WorkflowSession.objects.bulk_update(batch, fields)
                batch = []
        if batch:
            WorkflowSession.objects.bulk_update(batch, fields)
    # ComplyCube sends no dashboard URL; whatever is there was not its own.
    WorkflowSession.objects.filter(connection__kind="complycube").exclude(
        dashboard_url=""
    ).update(dashboard_url="")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0007_webhook_outbox")]

    operations = [
        migrations.AddField(
            model_name="workflowsession",
            name="decision",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="workflowsession",
            name="link_expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="workflowsession",
            name="risk_score",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="workflowsession",
            name="user_reference",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddIndex(
            model_name="workflowsession",
            index=models.Index(
                condition=models.Q(("user_reference", ""), _negated=True),
                fields=["user_reference"],
                name="session_user_reference",
            ),
        ),
        migrations.RunPython(
            stored_sessions_fix, migrations.RunPython.noop, elidable=True
        ),
    ]
