# The tally's "needs attention" follows the rule of issue 19 (the case is open
# or in review), so its triggers are recreated and the tally recounted.

from django.db import migrations


def triggers_for_case_state(apps, schema_editor):
    from sessions_app.tallies import (
        RULE_CASE,
        session_tally_rebuild,
        tally_triggers_create,
        tally_triggers_drop,
    )

    tally_triggers_drop(schema_editor)
    tally_triggers_create(schema_editor, rule=RULE_CASE)
    session_tally_rebuild(
        session_model=apps.get_model("sessions_app", "WorkflowSession"),
        tally_model=apps.get_model("sessions_app", "SessionTally"),
        rule=RULE_CASE,
    )


def triggers_for_decision(apps, schema_editor):
    from sessions_app.tallies import (
        RULE_DECISION,
        session_tally_rebuild,
        tally_triggers_create,
        tally_triggers_drop,
    )

    tally_triggers_drop(schema_editor)
    tally_triggers_create(schema_editor, rule=RULE_DECISION)
    session_tally_rebuild(
        session_model=apps.get_model("sessions_app", "WorkflowSession"),
        tally_model=apps.get_model("sessions_app", "SessionTally"),
        rule=RULE_DECISION,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0022_case_state"),
    ]

    operations = [
        migrations.RunPython(triggers_for_case_state, triggers_for_decision),
    ]
