"""Hold every choices column to its vocabulary in the database.

WorkflowSession.status/outcome and Check.outcome had such constraints already;
these add the rest, so a raw UPDATE, a bulk upsert or a bug in an adapter can
no longer store a word the application does not know. On PostgreSQL adding a
constraint validates the existing rows: a row outside the vocabulary stops
the migration instead of being kept silently.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0003_search_trigram_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="check",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "status__in",
                        [
                            "pending",
                            "in_progress",
                            "awaiting_input",
                            "completed",
                            "failed",
                            "abandoned",
                            "cancelled",
                            "unknown",
                        ],
                    )
                ),
                name="check_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="policyassurance",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("outcome__in", ["", "clear", "attention", "rejected"])
                ),
                name="policy_assurance_outcome_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="providerclient",
            constraint=models.CheckConstraint(
                condition=models.Q(("link_source__in", ["automatic", "manual"])),
                name="provider_client_link_source_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="providerconnection",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["onfido", "complycube", "ica"])),
                name="provider_connection_kind_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "decision__in",
                        ["approve", "reject", "escalate", "request_information"],
                    )
                ),
                name="review_decision_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="review",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "reason_code__in",
                        [
                            "verified",
                            "document_issue",
                            "biometric_mismatch",
                            "watchlist_match",
                            "adverse_media",
                            "fraud_suspected",
                            "incomplete",
                            "provider_error",
                            "needs_senior_review",
                            "other",
                        ],
                    )
                ),
                name="review_reason_code_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="syncrun",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("trigger__in", ["schedule", "manual", "full", "webhook"])
                ),
                name="syncrun_trigger_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="syncrun",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "state__in",
                        [
                            "running",
                            "succeeded",
                            "partial",
                            "failed",
                            "rate_limited",
                            "skipped",
                        ],
                    )
                ),
                name="syncrun_state_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["user", "technical"])),
                name="tag_kind_valid",
            ),
        ),
    ]
