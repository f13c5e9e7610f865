"""Integrity lives in the database: these constraints hold whatever the caller does."""

import pytest
from django.apps import apps
from django.db import IntegrityError, transaction

from sessions_app.models import (
    Approval,
    CaseState,
    Check,
    Client,
    ErasureRequest,
    Outcome,
    OutcomeOverride,
    PersonalDataReveal,
    PolicyAssurance,
    ProviderClient,
    ProviderConnection,
    ProviderErasure,
    Review,
    SessionReason,
    Status,
    SyncRun,
    Tag,
    WebhookDelivery,
    WorkflowSession,
    needs_attention_q,
)
from tests.factories import (
    ApprovalFactory,
    CheckFactory,
    ClientFactory,
    ErasureRequestFactory,
    OutcomeOverrideFactory,
    PersonalDataRevealFactory,
    PolicyAssuranceFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    ProviderErasureFactory,
    ReviewFactory,
    SessionReasonFactory,
    SyncRunFactory,
    TagFactory,
    WebhookDeliveryFactory,
    WorkflowSessionFactory,
)

pytestmark = pytest.mark.django_db


def test_duplicate_provider_and_external_id_rejected_for_sessions():
    session = WorkflowSessionFactory(external_id="run-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowSession.objects.create(
            connection=session.connection, external_id="run-1"
        )
    assert WorkflowSession.objects.filter(external_id="run-1").count() == 1


def test_same_external_id_allowed_at_another_provider():
    WorkflowSessionFactory(external_id="shared-id")
    other = ProviderConnectionFactory(kind="complycube")
    WorkflowSession.objects.create(connection=other, external_id="shared-id")
    assert WorkflowSession.objects.filter(external_id="shared-id").count() == 2


def test_duplicate_check_external_id_rejected():
    check = CheckFactory(external_id="chk-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Check.objects.create(
            connection=check.connection, session=check.session, external_id="chk-1"
        )


def test_duplicate_provider_client_rejected():
    pc = ProviderClientFactory(external_id="app-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProviderClient.objects.create(connection=pc.connection, external_id="app-1")


def test_duplicate_webhook_delivery_rejected():
    delivery = WebhookDeliveryFactory(delivery_id="evt-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(
            connection=delivery.connection, delivery_id="evt-1", body="{}"
        )


def test_tag_name_unique_per_kind():
    Tag.objects.create(name="vip", kind="user")
    Tag.objects.create(name="vip", kind="technical")
    with pytest.raises(IntegrityError), transaction.atomic():
        Tag.objects.create(name="vip", kind="user")


def test_client_reference_unique_only_when_set():
    ClientFactory(reference="")
    ClientFactory(reference="")
    ClientFactory(reference="cust-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.create(reference="cust-1")


@pytest.mark.parametrize(
    ("field", "value"), [("status", "approved"), ("outcome", "maybe")]
)
def test_session_status_and_outcome_constrained_to_vocabulary(field, value):
    session = WorkflowSessionFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkflowSession.objects.filter(pk=session.pk).update(**{field: value})


def test_session_sort_keys_default_when_provider_omits_them():
    connection = ProviderConnectionFactory()
    session = WorkflowSession.objects.create(connection=connection, external_id="x")
    assert session.provider_created_at is not None
    assert session.provider_updated_at is not None


def test_deleting_a_session_deletes_its_checks_but_a_connection_is_protected():
    check = CheckFactory()
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        check.connection.delete()
    check.session.delete()
    assert not Check.objects.filter(pk=check.pk).exists()


FACTORIES = {
    Approval: ApprovalFactory,
    Check: CheckFactory,
    ErasureRequest: ErasureRequestFactory,
    ProviderErasure: ProviderErasureFactory,
    PersonalDataReveal: PersonalDataRevealFactory,
    Client: ClientFactory,
    OutcomeOverride: OutcomeOverrideFactory,
    PolicyAssurance: PolicyAssuranceFactory,
    ProviderClient: ProviderClientFactory,
    ProviderConnection: ProviderConnectionFactory,
    Review: ReviewFactory,
    SessionReason: SessionReasonFactory,
    SyncRun: SyncRunFactory,
    Tag: TagFactory,
    WorkflowSession: WorkflowSessionFactory,
}

# Every choices column of the domain, found by looking, so a new one is covered.
CHOICE_COLUMNS = [
    (model, field.name)
    for model in apps.get_app_config("sessions_app").get_models()
    for field in model._meta.concrete_fields
    if field.choices
]


def test_the_known_choices_columns_are_all_found():
    found = {(model.__name__, name) for model, name in CHOICE_COLUMNS}
    assert {
        ("Check", "status"),
        ("Check", "outcome"),
        ("Check", "kind"),
        ("PolicyAssurance", "outcome"),
        ("ProviderClient", "link_source"),
        ("ProviderConnection", "kind"),
        ("Review", "decision"),
        ("Review", "reason_code"),
        ("SessionReason", "code"),
        ("SyncRun", "state"),
        ("SyncRun", "trigger"),
        ("Tag", "kind"),
        ("WorkflowSession", "status"),
        ("WorkflowSession", "outcome"),
    } <= found


@pytest.mark.parametrize(
    ("model", "field"), CHOICE_COLUMNS, ids=lambda v: getattr(v, "__name__", v)
)
def test_every_choices_column_rejects_a_value_outside_its_vocabulary(model, field):
    obj = FACTORIES[model]()
    # Cut to the column's length: on PostgreSQL a longer word is refused for
    # its length (DataError) before the vocabulary's constraint is asked.
    word = "not-a-choice"[: model._meta.get_field(field).max_length]
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=obj.pk).update(**{field: word})
    assert getattr(model.objects.get(pk=obj.pk), field) == getattr(obj, field)


@pytest.mark.parametrize(
    ("model", "field"), CHOICE_COLUMNS, ids=lambda v: getattr(v, "__name__", v)
)
def test_every_choices_column_accepts_each_word_of_its_vocabulary(model, field):
    obj = FACTORIES[model]()
    for value in model._meta.get_field(field).get_choices(include_blank=False):
        model.objects.filter(pk=obj.pk).update(**{field: value[0]})
        assert getattr(model.objects.get(pk=obj.pk), field) == value[0]


@pytest.mark.parametrize(
    ("status", "outcome", "last_decision", "needs"),
    [
        (Status.COMPLETED, Outcome.ATTENTION, "", True),
        (Status.COMPLETED, Outcome.REJECTED, "", True),
        (Status.COMPLETED, Outcome.ATTENTION, "escalate", False),
        (Status.COMPLETED, Outcome.CLEAR, "", False),
        (Status.IN_PROGRESS, Outcome.NONE, "", False),
        (Status.PENDING, Outcome.NONE, "", False),
        (Status.AWAITING_INPUT, Outcome.NONE, "", True),
        (Status.FAILED, Outcome.ATTENTION, "approve", True),
        (Status.UNKNOWN, Outcome.NONE, "", True),
        (Status.ABANDONED, Outcome.NONE, "", False),
    ],
)
def test_needs_attention_definition(status, outcome, last_decision, needs):
    session = WorkflowSessionFactory(
        status=status, outcome=outcome, last_decision=last_decision
    )
    selected = WorkflowSession.objects.filter(needs_attention_q())
    assert (session in selected) is needs
    excluded = WorkflowSession.objects.exclude(needs_attention_q())
    assert (session in excluded) is not needs


@pytest.mark.parametrize(
    ("details", "failing"),
    [
        (
            {
                "rules": [
                    {"name": "All required checks completed", "outcome": "clear"},
                    {"name": "Risk threshold", "outcome": "rejected"},
                    {"name": "PEP level", "outcome": "attention"},
                ]
            },
            ["Risk threshold", "PEP level"],
        ),
        (
            {
                "rules": [
                    {"rule": "doc_clear", "passed": True},
                    {"rule": "age", "passed": False},
                ]
            },
            ["age"],
        ),
        ({"rules": [{"outcome": "failed"}, "garbage", 7]}, ["unnamed"]),
        ({"rules": "not a list"}, []),
        ({}, []),
        (["not", "a", "dict"], []),
    ],
)
def test_policy_failing_rules_in_words_from_any_shape(details, failing):
    assert PolicyAssurance(details=details).failing_rules == failing


@pytest.mark.parametrize(
    ("status", "outcome", "case_state", "words"),
    [
        ("completed", "rejected", "open", "outcome rejected, case open"),
        ("completed", "attention", "in_review", "outcome attention, case in review"),
        ("failed", "rejected", "open", "status failed"),
        ("completed", "rejected", "escalated", ""),
        ("completed", "clear", "open", ""),
    ],
)
def test_needs_attention_words_say_the_rule(status, outcome, case_state, words):
    from sessions_app.models import needs_attention_reason, needs_attention_words

    assert (
        needs_attention_words(status=status, outcome=outcome, case_state=case_state)
        == words
    )
    session = WorkflowSessionFactory(
        status=status, outcome=outcome, case_state=case_state, last_decision="approve"
    )
    annotated = WorkflowSession.objects.annotate(why=needs_attention_reason())
    assert annotated.get(pk=session.pk).why == words


def test_needs_attention_words_agree_with_the_rule_and_its_expression():
    from sessions_app.models import (
        needs_attention_q,
        needs_attention_reason,
        needs_attention_words,
    )

    for status in Status.values:
        for outcome in Outcome.values:
            for case_state in CaseState.values:
                WorkflowSessionFactory(
                    status=status, outcome=outcome, case_state=case_state
                )
    rows = WorkflowSession.objects.annotate(why=needs_attention_reason())
    needing = set(
        WorkflowSession.objects.filter(needs_attention_q()).values_list("pk", flat=True)
    )
    for session in rows:
        words = needs_attention_words(
            status=session.status,
            outcome=session.outcome,
            case_state=session.case_state,
        )
        assert words == session.why
        assert bool(words) == (session.pk in needing)
