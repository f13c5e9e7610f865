"""factory_boy factories for the domain model."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from sessions_app import models
from sessions_app.cases.states import DECISION_TARGETS, CaseState
from sessions_app.normalization import classify_check


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"officer{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def roles(
        self, create: bool, extracted: list[str] | None, **kwargs: object
    ) -> None:
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))
        if create:
            self.save()


class ProviderConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ProviderConnection
        django_get_or_create = ("slug",)

    kind = models.ProviderKind.ONFIDO
    slug = factory.LazyAttribute(lambda c: f"{c.kind}-test")
    display_name = factory.LazyAttribute(lambda c: c.slug.replace("-", " ").title())
    base_url = factory.LazyAttribute(lambda c: f"https://{c.kind}.example.test/api")
    credential_env = factory.LazyAttribute(
        lambda c: f"VERITY_PROVIDER_{c.kind.upper()}_TEST_TOKEN"
    )


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Client

    display_name = factory.Faker("name")
    reference = factory.Sequence(lambda n: f"cust-{n:06d}")


class ProviderClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ProviderClient

    connection = factory.SubFactory(ProviderConnectionFactory)
    external_id = factory.Faker("uuid4")
    name = factory.Faker("name")
    external_reference = factory.LazyAttribute(
        lambda pc: pc.client.reference if pc.client else ""
    )
    client = factory.SubFactory(ClientFactory)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Tag
        django_get_or_create = ("name", "kind")

    name = factory.Sequence(lambda n: f"tag-{n}")
    kind = models.TagKind.USER


class WorkflowSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.WorkflowSession
        skip_postgeneration_save = True

    connection = factory.SubFactory(ProviderConnectionFactory)
    external_id = factory.Faker("uuid4")
    provider_client = factory.SubFactory(
        ProviderClientFactory, connection=factory.SelfAttribute("..connection")
    )
    workflow_id = "wf-kyc"
    workflow_name = "KYC standard"
    workflow_version = "3"
    status = models.Status.COMPLETED
    raw_status = "approved"
    outcome = models.Outcome.CLEAR
    raw_outcome = "approved"
    provider_created_at = factory.LazyFunction(
        lambda: timezone.now() - dt.timedelta(days=1)
    )
    provider_updated_at = factory.LazyAttribute(
        lambda s: s.provider_created_at + dt.timedelta(minutes=5)
    )
    last_synced_at = factory.LazyFunction(timezone.now)
    raw_payload = factory.LazyAttribute(
        lambda s: {"id": s.external_id, "status": s.raw_status}
    )
    # A session given a decision gets the case state that decision leads to,
    # as the migration's backfill gives existing rows (cases/states.py).
    case_state = factory.LazyAttribute(
        lambda s: DECISION_TARGETS.get(getattr(s, "last_decision", ""), CaseState.OPEN)
    )

    @factory.post_generation
    def tags(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.tags.add(*extracted)


class CheckFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Check

    session = factory.SubFactory(WorkflowSessionFactory)
    connection = factory.SelfAttribute("session.connection")
    external_id = factory.Faker("uuid4")
    check_type = "document"
    # As the sync would store it, from the provider's check-kind table.
    kind = factory.LazyAttribute(
        lambda check: classify_check(check.connection.kind, check.check_type).kind
    )
    status = models.Status.COMPLETED
    raw_status = "complete"
    outcome = models.Outcome.CLEAR
    raw_outcome = "clear"
    breakdown = factory.LazyFunction(
        lambda: {"visual_authenticity": {"result": "clear"}}
    )


class SessionReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SessionReason

    session = factory.SubFactory(WorkflowSessionFactory)
    code = models.ReasonKind.DOCUMENT_REJECTED
    raw = "document_rejected"
    position = factory.Sequence(lambda n: n)


class PolicyAssuranceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.PolicyAssurance

    session = factory.SubFactory(WorkflowSessionFactory)
    policy_id = factory.Sequence(lambda n: f"pol-{n}")
    policy_name = "Standard KYC policy"
    outcome = models.Outcome.CLEAR
    raw_outcome = "clear"
    position = factory.Sequence(lambda n: n)


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.SyncRun

    connection = factory.SubFactory(ProviderConnectionFactory)
    state = models.SyncRunState.SUCCEEDED
    finished_at = factory.LazyFunction(timezone.now)


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Review

    session = factory.SubFactory(WorkflowSessionFactory)
    decision = models.Decision.APPROVE
    reason_code = models.ReasonCode.VERIFIED
    reviewer = factory.SubFactory(UserFactory, roles=["reviewer"])


class ApprovalFactory(factory.django.DjangoModelFactory):
    """A pending four-eyes request (rows the case services write)."""

    class Meta:
        model = models.Approval

    session = factory.SubFactory(
        WorkflowSessionFactory, case_state=CaseState.AWAITING_APPROVAL
    )
    maker = factory.SubFactory(UserFactory, roles=["reviewer"])
    decision = models.Decision.REJECT
    reason_code = models.ReasonCode.DOCUMENT_ISSUE
    made_at = factory.LazyFunction(timezone.now)


class OutcomeOverrideFactory(factory.django.DjangoModelFactory):
    """An active outcome override (rows the override services write)."""

    class Meta:
        model = models.OutcomeOverride

    session = factory.SubFactory(WorkflowSessionFactory, outcome="clear")
    outcome = models.Outcome.REJECTED
    provider_outcome = factory.SelfAttribute("session.outcome")
    provider_outcome_now = factory.SelfAttribute("session.outcome")
    reason_code = models.ReasonCode.OTHER
    comment = "Forged passport."
    maker = factory.SubFactory(UserFactory, roles=["reviewer"])
    approver = factory.SubFactory(UserFactory, roles=["reviewer"])
    requested_at = factory.LazyFunction(timezone.now)
    effective_at = factory.LazyFunction(timezone.now)


class QuarantinedRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.QuarantinedRecord

    connection = factory.SubFactory(ProviderConnectionFactory)
    record_type = "session"
    external_id = factory.Faker("uuid4")
    reason = "status is not a string"
    raw = '{"id": 1, "status": {"bad": true}}'


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.WebhookDelivery

    connection = factory.SubFactory(ProviderConnectionFactory)
    delivery_id = factory.Faker("uuid4")
    event_type = "workflow_run.completed"
    body = "{}"


class ErasureRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ErasureRequest

    client = factory.SubFactory(ClientFactory)
    requested_by = "the data subject, by e-mail"
    requested_on = factory.LazyFunction(timezone.localdate)
    verification = "e-mail address on file"
    state = models.ErasureRequestState.REFUSED


class ProviderErasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ProviderErasure

    provider_client = factory.SubFactory(ProviderClientFactory)
    connection = factory.SelfAttribute("provider_client.connection")
    client = factory.SelfAttribute("provider_client.client")
    external_id = factory.SelfAttribute("provider_client.external_id")
    requested_at = factory.LazyFunction(timezone.now)


class PersonalDataRevealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.PersonalDataReveal

    user = factory.SubFactory(UserFactory)
    object_type = models.PersonalDataReveal.SESSION
    object_id = 1
    reason = "a check"
    source = "web"
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(
        lambda reveal: reveal.created_at + dt.timedelta(minutes=10)
    )
