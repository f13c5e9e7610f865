"""The audit trail becomes a hash chain, append-only on PostgreSQL.

1. `actor` and `client` keep their ids without a database constraint and
   are never changed (DO_NOTHING): an event is never updated, and deleting a
   user or a client must not rewrite history (their ids are in the hash).
2. `created_at` is set in Python (it is hashed before the insert).
3. `sequence`, `prev_hash`, `hash`; the existing events get them in id order
   (a keyset-paged pass, 2,000 events per round trip, memory constant), and
   the chain head row is created at their tail.
4. On PostgreSQL a trigger refuses UPDATE and DELETE of an event (created
   after the backfill, which updates). A no-op on other databases.
"""

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

BACKFILL_BATCH = 2000
GENESIS = "0" * 64
CHAIN_COLUMNS = (
    "id",
    "created_at",
    "actor_id",
    "actor_label",
    "source",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "client_id",
    "before",
    "after",
)

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION verity_audit_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % of event % refused', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER IF EXISTS verity_audit_event_append_only ON sessions_app_auditevent;
CREATE TRIGGER verity_audit_event_append_only
    BEFORE UPDATE OR DELETE ON sessions_app_auditevent
    FOR EACH ROW EXECUTE FUNCTION verity_audit_event_append_only();
"""
TRIGGER_DROP_SQL = """
DROP TRIGGER IF EXISTS verity_audit_event_append_only ON sessions_app_auditevent;
DROP FUNCTION IF EXISTS verity_audit_event_append_only();
"""


def chain_backfill(apps, schema_editor):
    # The hash is the application's own definition (versioned in the
    # canonical form), so the backfill and later appends agree.
    from sessions_app.privacy.audit_chain import event_hash

    AuditEvent = apps.get_model("sessions_app", "AuditEvent")
    AuditChainHead = apps.get_model("sessions_app", "AuditChainHead")
    db = schema_editor.connection.alias
    events = AuditEvent.objects.using(db)
    sequence, prev_hash, last_id = 0, GENESIS, 0
    while True:
        rows = list(
            events.filter(id__gt=last_id)
            .order_by("id")
            .values(*CHAIN_COLUMNS)[:BACKFILL_BATCH]
        )
        if not rows:
            break
        updated = []
        for row in rows:
            sequence += 1
            row.update(sequence=sequence, prev_hash=prev_hash)
            prev_hash = event_hash(row)
            updated.append(
                AuditEvent(
                    id=row["id"],
                    sequence=sequence,
                    prev_hash=row["prev_hash"],
                    hash=prev_hash,
                )
            )
        events.bulk_update(updated, ["sequence", "prev_hash", "hash"])
        last_id = rows[-1]["id"]
    AuditChainHead.objects.using(db).update_or_create(
        pk=1, defaults={"sequence": sequence, "hash": prev_hash}
    )


def trigger_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def trigger_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0015_external_identity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=models.DO_NOTHING,
                related_name="audit_events",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="client",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=models.DO_NOTHING,
                related_name="audit_events",
                to="sessions_app.client",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(
                db_index=True, default=django.utils.timezone.now
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("sequence", models.PositiveBigIntegerField(default=0)),
                ("hash", models.CharField(default=GENESIS, max_length=64)),
            ],
        ),
        migrations.CreateModel(
            name="AuditChainVerification",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField()),
                ("intact", models.BooleanField()),
                ("events_checked", models.PositiveBigIntegerField(default=0)),
                ("last_sequence", models.PositiveBigIntegerField(default=0)),
                ("last_hash", models.CharField(blank=True, max_length=64)),
                (
                    "break_sequence",
                    models.PositiveBigIntegerField(blank=True, null=True),
                ),
                ("break_event_id", models.BigIntegerField(blank=True, null=True)),
                ("break_kind", models.CharField(blank=True, max_length=20)),
                ("break_detail", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["-finished_at", "-id"],
                "get_latest_by": ["finished_at", "id"],
            },
        ),
        migrations.RunPython(chain_backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(unique=True),
        ),
        migrations.RunPython(trigger_create, trigger_drop),
    ]
