"""Reasons fit their decisions: data, the form, and the service."""

from __future__ import annotations

import itertools

import pytest

from sessions_app.cases import services as case_services
from sessions_app.cases.reasons import (
    REASON_DECISIONS,
    reason_fit_check,
    reasons_for_decision,
)
from sessions_app.exceptions import ApplicationError
from sessions_app.forms import DecisionForm
from sessions_app.models import AuditEvent, Decision, ReasonCode, Review
from tests.factories import WorkflowSessionFactory


def test_every_reason_fits_at_least_one_decision_and_every_decision_has_reasons():
    assert set(REASON_DECISIONS) == set(ReasonCode.values)
    for decision in Decision.values:
        assert reasons_for_decision(decision)
    assert "fraud_suspected" not in reasons_for_decision("approve")
    assert reasons_for_decision("approve") == ["verified", "other"]


@pytest.mark.parametrize(
    ("decision", "reason"), list(itertools.product(Decision.values, ReasonCode.values))
)
def test_every_pair_is_accepted_exactly_when_it_fits(decision, reason):
    fits = decision in REASON_DECISIONS[reason]
    form = DecisionForm(
        {"decision": decision, "reason_code": reason, "comment": "see file"}
    )
    assert form.is_valid() is fits
    if fits:
        reason_fit_check(decision=decision, reason_code=reason)
    else:
        assert "does not justify" in form.errors["reason_code"][0]
        with pytest.raises(ApplicationError, match="does not justify"):
            reason_fit_check(decision=decision, reason_code=reason)


def test_the_form_names_the_decisions_each_reason_fits():
    html = str(DecisionForm()["reason_code"])
    assert 'value="fraud_suspected" data-decisions="reject escalate"' in html
    assert 'value="verified" data-decisions="approve"' in html


@pytest.mark.django_db
def test_the_service_refuses_approve_fraud_suspected_and_writes_nothing(reviewer):
    session = WorkflowSessionFactory()
    with pytest.raises(ApplicationError, match="“Fraud suspected” does not justify"):
        case_services.case_decision_record(
            session=session,
            reviewer=reviewer,
            decision="approve",
            reason_code="fraud_suspected",
        )
    assert not Review.objects.exists()
    assert not AuditEvent.objects.exists()
