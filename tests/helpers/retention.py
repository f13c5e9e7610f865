"""A client full of personal data, for the retention and erasure tests: every
column that can carry it holds a value the tests can look for afterwards."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

from sessions_app import models
from sessions_app.cases.models import Approval, Note, OutcomeOverride
from tests.factories import (
    CheckFactory,
    ClientFactory,
    OutcomeOverrideFactory,
    ProviderClientFactory,
    ProviderConnectionFactory,
    QuarantinedRecordFactory,
    ReviewFactory,
    UserFactory,
    WebhookDeliveryFactory,
    WorkflowSessionFactory,
)

TODAY = dt.date(2031, 6, 15)
# The personal values planted; none may survive an erasure.
NAME = "Marguerite Oyelaran-Fitzwilliam"
REFERENCE = "cust-marguerite-771"
DOB = "1961-07-04"
EMAIL = "m.oyelaran@example.test"
DOCUMENT_NUMBER = "P-55102984"
PERSONAL_VALUES = (NAME, REFERENCE, DOB, EMAIL, DOCUMENT_NUMBER, "Marguerite")
_numbers = itertools.count(1)


@dataclasses.dataclass
class PersonalClient:
    client: models.Client
    identities: list[models.ProviderClient]
    sessions: list[models.WorkflowSession]
    checks: list[models.Check]


def personal_client(
    *, kinds: tuple[str, ...] = ("onfido",), ended_on: dt.date | None = None
) -> PersonalClient:
    """A client with one identity per provider kind, a session and a check each,
    a reviewer's comment, a four-eyes request's comments, notes on the client
    and each session, a webhook delivery and a quarantined record naming them."""
    reference = f"{REFERENCE}-{next(_numbers)}"  # references are unique
    client = ClientFactory(
        display_name=NAME, reference=reference, relationship_ended_on=ended_on
    )
    payload = {
        "first_name": "Marguerite",
        "last_name": "Oyelaran-Fitzwilliam",
        "dob": DOB,
        "email": EMAIL,
        "id_numbers": [{"value": DOCUMENT_NUMBER}],
    }
    identities, sessions, checks = [], [], []
    reviewer = UserFactory(roles=["reviewer"])
    checker = UserFactory(roles=["reviewer"])
    Note.objects.create(
        client=client,
        author=reviewer,
        text=f"{NAME} moved; born {DOB}",
        created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    for kind in kinds:
        connection = ProviderConnectionFactory(kind=kind)
        identity = ProviderClientFactory(
            connection=connection,
            client=client,
            name=NAME,
            external_reference=reference,
            raw_payload=payload,
            payload_hash="abc",
        )
        session = WorkflowSessionFactory(
            connection=connection,
            provider_client=identity,
            raw_payload={"applicant": payload},
            summary=f"Verified {NAME}",
            error=f"{NAME}: document {DOCUMENT_NUMBER} unreadable",
            user_reference=reference,
            reasons=[f"name {NAME}"],
        )
        check = CheckFactory(
            session=session,
            raw_payload={"properties": {"document_numbers": [DOCUMENT_NUMBER]}},
            breakdown={"name": NAME, "dob": DOB},
            document_expires_on=dt.date(2030, 1, 1),
        )
        ReviewFactory(session=session, reviewer=reviewer, comment=f"Spoke to {NAME}")
        # A settled four-eyes request and a note, both naming the person.
        Approval.objects.create(
            session=session,
            maker=reviewer,
            checker=checker,
            decision="reject",
            reason_code="document_issue",
            comment=f"{NAME}'s passport {DOCUMENT_NUMBER} looks altered",
            checker_comment=f"Agree about {NAME}",
            made_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
            checked_at=dt.datetime(2026, 1, 3, tzinfo=dt.UTC),
            result="sent_back",
        )
        OutcomeOverrideFactory(
            session=session,
            maker=reviewer,
            approver=checker,
            comment=f"{NAME} sent a new passport",
        )
        Note.objects.create(
            session=session,
            author=reviewer,
            text=f"Called {NAME} on {EMAIL}",
            created_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        )
        WebhookDeliveryFactory(
            connection=connection,
            resource_id=session.external_id,
            body=f'{{"name": "{NAME}", "email": "{EMAIL}"}}',
        )
        QuarantinedRecordFactory(
            connection=connection,
            external_id=session.external_id,
            raw=f'{{"dob": "{DOB}"}}',
        )
        identities.append(identity)
        sessions.append(session)
        checks.append(check)
    return PersonalClient(client, identities, sessions, checks)


def rows_of(found: PersonalClient) -> list:
    """Every row of the client, read again from the database."""
    session_ids = [s.pk for s in found.sessions]
    connection_ids = [s.connection_id for s in found.sessions]
    external_ids = [s.external_id for s in found.sessions]
    return [
        *models.Client.objects.filter(pk=found.client.pk),
        *models.ProviderClient.objects.filter(client=found.client),
        *models.WorkflowSession.objects.filter(pk__in=session_ids),
        *models.Check.objects.filter(session_id__in=session_ids),
        *models.Review.objects.filter(session_id__in=session_ids),
        *Approval.objects.filter(session_id__in=session_ids),
        *OutcomeOverride.objects.filter(session_id__in=session_ids),
        *Note.objects.filter(session_id__in=session_ids),
        *Note.objects.filter(client=found.client),
        *models.WebhookDelivery.objects.filter(
            connection_id__in=connection_ids, resource_id__in=external_ids
        ),
        *models.QuarantinedRecord.objects.filter(
            connection_id__in=connection_ids, external_id__in=external_ids
        ),
    ]


def personal_values_in(rows: list) -> list[str]:
    """`model.column: value` for every planted personal value still in `rows`."""
    found = []
    for row in rows:
        for field in row._meta.concrete_fields:
            text = str(getattr(row, field.attname))
            for value in PERSONAL_VALUES:
                if value in text:
                    found.append(f"{row._meta.label_lower}.{field.attname}: {value}")
    return found
