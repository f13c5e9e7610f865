"""One QuarantinedRecord per bad record; SyncRun.error_kind.

Adds the record's identity (`fingerprint`), `last_seen_at` and `seen_count`,
collapses the copies earlier passes stored into one row each, then makes the
identity unique per connection. Of each group of copies the LATEST row is
kept (its raw text, sync run and resolution are the newest), with the
earliest `created_at` as first seen, its own `created_at` as last seen and
the sum of the group's counts. Keeping the latest row means no foreign key
is rewritten, so PostgreSQL has no deferred trigger pending when the unique
constraint is added in the same transaction.
"""

import hashlib
import json

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

CHUNK = 2000


def _fingerprint(record_type: str, external_id: str, reason: str, raw: str) -> str:
    # A frozen copy of models.connections.quarantine_fingerprint: a migration
    # must not change meaning when the application code does.
    key = (
        f"id:{external_id}"
        if external_id
        else "raw:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()
    )
    return hashlib.sha256(
        json.dumps([record_type, key, reason], ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def quarantine_collapse(apps, schema_editor):
    Record = apps.get_model("sessions_app", "QuarantinedRecord")
    db = schema_editor.connection.alias
    # (connection, fingerprint) -> [latest pk, first seen, last seen, count]
    groups: dict[tuple[int, str], list] = {}
    every_pk: list[int] = []
    rows = (
        Record.objects.using(db)
        .order_by("created_at", "id")
        .values_list(
            "pk",
            "connection_id",
            "record_type",
            "external_id",
            "reason",
            "raw",
            "created_at",
            "seen_count",
        )
    )
    for (
        pk,
        conn,
        record_type,
        external_id,
        reason,
        raw,
        created,
        count,
    ) in rows.iterator(chunk_size=CHUNK):
        every_pk.append(pk)
        key = (conn, _fingerprint(record_type, external_id, reason, raw))
        group = groups.get(key)
        if group is None:
            groups[key] = [pk, created, created, count]
        else:  # ordered by created_at: this copy is the newest so far
            group[0], group[2], group[3] = pk, created, group[3] + count
    keep = {group[0] for group in groups.values()}
    doomed = [pk for pk in every_pk if pk not in keep]
    for start in range(0, len(doomed), CHUNK):
        Record.objects.using(db).filter(pk__in=doomed[start : start + CHUNK]).delete()
    kept = [
        Record(
            pk=pk,
            fingerprint=fingerprint,
            created_at=first,
            last_seen_at=last,
            seen_count=count,
        )
        for (_, fingerprint), (pk, first, last, count) in groups.items()
    ]
    Record.objects.using(db).bulk_update(
        kept,
        ["fingerprint", "created_at", "last_seen_at", "seen_count"],
        batch_size=CHUNK // 4,
    )
    if schema_editor.connection.vendor == "postgresql":
        # Belt and braces: no deferred check may be pending when the same
        # transaction then adds the index and the unique constraint.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0005_overview_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="error_kind",
            field=models.CharField(blank=True, max_length=30),
        ),
        migrations.AddField(
            model_name="quarantinedrecord",
            name="fingerprint",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="quarantinedrecord",
            name="last_seen_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, verbose_name="last seen"
            ),
        ),
        migrations.AddField(
            model_name="quarantinedrecord",
            name="seen_count",
            field=models.PositiveIntegerField(default=1, verbose_name="times seen"),
        ),
        migrations.RunPython(quarantine_collapse, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="quarantinedrecord",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                editable=False,
                verbose_name="first seen",
            ),
        ),
        migrations.AlterField(
            model_name="quarantinedrecord",
            name="raw",
            field=models.TextField(
                help_text="The record exactly as received (latest copy)."
            ),
        ),
        migrations.AlterField(
            model_name="quarantinedrecord",
            name="sync_run",
            field=models.ForeignKey(
                blank=True,
                help_text="The latest run that quarantined this record.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="quarantined_records",
                to="sessions_app.syncrun",
            ),
        ),
        migrations.AlterModelOptions(
            name="quarantinedrecord",
            options={"ordering": ["-last_seen_at", "-id"]},
        ),
        migrations.AddIndex(
            model_name="quarantinedrecord",
            index=models.Index(fields=["-last_seen_at"], name="quarantine_last_seen"),
        ),
        migrations.AddConstraint(
            model_name="quarantinedrecord",
            constraint=models.UniqueConstraint(
                fields=("connection", "fingerprint"), name="quarantine_unique_record"
            ),
        ),
    ]
