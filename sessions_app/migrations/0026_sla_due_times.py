# Due times (issue 19 item 6): when a session began needing attention and
# when its case is due, with the set-based backfill (cases/sla.py
# `sla_rebuild`: a few UPDATE statements, none per row) run before the
# indexes are built; every sort breaks ties by date (the updated index).

from django.conf import settings
from django.db import migrations, models


def sla_backfill(apps, schema_editor):
    from sessions_app.cases.sla import sla_rebuild

    sla_rebuild(model=apps.get_model("sessions_app", "WorkflowSession"))


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0025_saved_views_review_team"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="workflowsession",
            name="session_updated_desc",
        ),
        migrations.AddField(
            model_name="approval",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="review",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="workflowsession",
            name="attention_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="workflowsession",
            name="case_due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(sla_backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="workflowsession",
            index=models.Index(
                fields=["-provider_updated_at", "-provider_created_at", "-id"],
                name="session_updated_created",
            ),
        ),
        migrations.AddIndex(
            model_name="workflowsession",
            index=models.Index(
                condition=models.Q(("case_due_at__isnull", False)),
                fields=["case_due_at", "provider_created_at", "id"],
                name="session_due",
            ),
        ),
        migrations.AddIndex(
            model_name="workflowsession",
            index=models.Index(
                condition=models.Q(("case_due_at__isnull", False)),
                fields=["case_due_at", "case_state"],
                name="session_due_state",
            ),
        ),
    ]
