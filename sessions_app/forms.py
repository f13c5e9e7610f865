"""HTML forms of the staff pages.

Forms only check the shape of input. What a filter means lives in filters.py
(shared with the API and CSV); what a decision or an assignment may do lives in
services.py, which raises ApplicationError for anything the forms let through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import ErrorDict

from .cases.reasons import REASON_DECISIONS
from .client_review.services import RISK_TIER_REASON_MAX_LENGTH
from .filters import ASSIGNED_TO_ME, CASE_STATE_CHOICES, OUTCOME_CHOICES, UNASSIGNED
from .models import Decision, ReasonCode, ReasonKind, RiskTier, Status
from .selectors.sorting import SESSION_DEFAULT_SORT, SESSION_SORT_VALUES
from .services import LINK_REASON_MAX_LENGTH, REVIEW_COMMENT_MAX_LENGTH

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = PAGE_SIZES[0]
DATE_ATTRS = {
    "placeholder": "YYYY-MM-DD",
    "inputmode": "numeric",
    "autocomplete": "off",
    "spellcheck": "false",
}


def _with_current(
    choices: list[tuple[str, str]], current: str | None
) -> list[tuple[str, str]]:
    """Keep a bookmarked value the select does not offer selectable.

    A multi-value filter (`status=completed,failed`) gets one option labelled
    with its parts' labels ("Completed, Failed"), so the select shows what the
    page is filtered by and resubmitting the form keeps it.
    """
    if not current or current in {value for value, _ in choices}:
        return choices
    labels = dict(choices)
    parts = [part.strip() for part in current.split(",")]
    label = ", ".join(labels.get(part, part) for part in parts if part)
    return [*choices, (current, label or current)]


class QueueFilterForm(forms.Form):
    """Render the review queue's filters. The FilterSet validates and applies them.

    Bound to the query string so the form shows what the page is filtered by;
    its own validation is never used.
    """

    provider = forms.ChoiceField(required=False, label="Provider")
    status = forms.ChoiceField(required=False, label="Status")
    outcome = forms.ChoiceField(required=False, label="Outcome")
    reason = forms.ChoiceField(required=False, label="Reason")
    q = forms.CharField(
        required=False,
        label="Search",
        help_text="Client name, or an exact session id, user reference, client or provider id.",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or id"}),
    )
    tag = forms.CharField(required=False, label="Tag")
    workflow = forms.CharField(
        required=False, label="Workflow", help_text="Id or name."
    )
    assignee = forms.ChoiceField(required=False, label="Assignee")
    case_state = forms.ChoiceField(required=False, label="Case state")
    # Plain text, not <input type="date">: the browser's picker shows the
    # viewer's locale (12/01/2026 or 01/12/2026) while every page, chip and
    # bookmark speaks ISO; and it cannot hold a bookmarked date-time.
    created_after = forms.CharField(
        required=False,
        label="Created from",
        help_text="ISO date, YYYY-MM-DD (UTC).",
        widget=forms.TextInput(attrs=DATE_ATTRS),
    )
    created_before = forms.CharField(
        required=False,
        label="Created until",
        help_text="ISO date, YYYY-MM-DD (UTC); the whole day counts.",
        widget=forms.TextInput(attrs=DATE_ATTRS),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        providers: Sequence[tuple[str, str]] = (),
        reviewers: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        data = data or {}
        any_choice = [("", "Any")]
        self.fields["provider"].choices = _with_current(
            any_choice + [(slug, name or slug) for slug, name in providers],
            data.get("provider"),
        )
        self.fields["status"].choices = _with_current(
            any_choice + list(Status.choices), data.get("status")
        )
        self.fields["outcome"].choices = _with_current(
            any_choice + list(OUTCOME_CHOICES), data.get("outcome")
        )
        self.fields["reason"].choices = _with_current(
            any_choice + list(ReasonKind.choices), data.get("reason")
        )
        self.fields["case_state"].choices = _with_current(
            any_choice + list(CASE_STATE_CHOICES), data.get("case_state")
        )
        # The filter matches "me" and "none" in any case; a bookmarked "ME"
        # selects the offered option rather than a duplicate.
        assignee = (data.get("assignee") or "").strip()
        if assignee.lower() in {ASSIGNED_TO_ME, UNASSIGNED} and assignee != (
            assignee.lower()
        ):
            data = data.copy()
            data["assignee"] = assignee.lower()
            self.data = data
        self.fields["assignee"].choices = _with_current(
            [
                *any_choice,
                (UNASSIGNED, "Unassigned"),
                (ASSIGNED_TO_ME, "Me"),
                *[(username, username) for username in reviewers],
            ],
            self.data.get("assignee"),
        )

    def filter_errors_show(self, errors: Mapping[str, Sequence[str]]) -> None:
        """Show the FilterSet's errors beside their fields (the summary above
        the form lists them too); Django marks those fields `aria-invalid` and
        points their `aria-describedby` at the message (`<id>_error`)."""
        # The form's own checks are never used: start from no errors at all.
        self._errors = ErrorDict()
        self.cleaned_data = {}
        for name, messages in errors.items():
            if name in self.fields:
                self._errors[name] = self.error_class(list(messages), field_id=name)


class QueueOptionsForm(forms.Form):
    """Sort order, page size and cursor of the review queue."""

    sort = forms.ChoiceField(
        required=False, choices=[(value, value) for value in SESSION_SORT_VALUES]
    )
    page_size = forms.TypedChoiceField(
        required=False,
        coerce=int,
        choices=[(str(n), str(n)) for n in PAGE_SIZES],
        empty_value=DEFAULT_PAGE_SIZE,
    )
    cursor = forms.CharField(required=False, max_length=2000)

    def options(self) -> tuple[str, int, str, list[str]]:
        """Return (sort, page size, cursor, problems); bad values fall back to defaults."""
        problems: list[str] = []
        self.is_valid()
        errors = self.errors
        sort = self.cleaned_data.get("sort") or SESSION_DEFAULT_SORT
        if "sort" in errors:
            problems.append(
                f"Unknown sort order {self.data.get('sort')!r}; sorted by newest first."
            )
        page_size = self.cleaned_data.get("page_size") or DEFAULT_PAGE_SIZE
        if "page_size" in errors:
            problems.append(
                f"Page size must be one of {', '.join(map(str, PAGE_SIZES))}; "
                f"showing {DEFAULT_PAGE_SIZE}."
            )
        cursor = self.cleaned_data.get("cursor") or ""
        if "cursor" in errors:
            problems.append("The page link was not valid; showing the first page.")
        return sort, page_size, cursor, problems


# The session lists' order parameter: the queue (QueueOptionsForm), the API's
# session list and the sessions CSV read it with the same values.
SORT_PARAM = "sort"


def session_sort_clean(raw: str | None) -> str:
    """Return the sort a strict `sort` parameter names (the API's, the CSV's).

    Blank means the default order. Raise ValidationError naming the accepted
    values for an unknown one; the review queue is lenient instead and falls
    back to the default with a notice (`QueueOptionsForm.options`).
    """
    sort = (raw or "").strip() or SESSION_DEFAULT_SORT
    if sort not in SESSION_SORT_VALUES:
        raise ValidationError(
            f"Unknown sort {sort!r}; one of {', '.join(SESSION_SORT_VALUES)}."
        )
    return sort


class ReasonSelect(forms.Select):
    """The reason list, each option naming the decisions it fits
    (`data-decisions`): the page's script offers only those of the decision
    chosen, and the form and the service refuse any other pair anyway."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict:
        option = super().create_option(name, value, *args, **kwargs)
        if value:
            option["attrs"]["data-decisions"] = " ".join(REASON_DECISIONS[value])
        return option


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=Decision.choices, widget=forms.RadioSelect, label="Decision"
    )
    reason_code = forms.ChoiceField(
        choices=[("", "Choose a reason…"), *ReasonCode.choices],
        label="Reason",
        widget=ReasonSelect,
    )
    comment = forms.CharField(
        required=False,
        max_length=REVIEW_COMMENT_MAX_LENGTH,
        label="Comment",
        help_text="Required when the reason is “Other”. Kept separately from the reason.",
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    waiting_until = forms.DateField(
        required=False,
        label="Waiting until",
        help_text="Request information only: the case comes back to work on "
        "this day (UTC). Blank: in a week.",
        widget=forms.TextInput(attrs=DATE_ATTRS),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        decision, reason = data.get("decision"), data.get("reason_code")
        if decision and reason and decision not in REASON_DECISIONS[reason]:
            self.add_error(
                "reason_code",
                f"“{ReasonCode(reason).label}” does not justify "
                f"“{Decision(decision).label}”.",
            )
        if decision != Decision.REQUEST_INFORMATION:
            # A date left in the field is not part of another decision.
            data["waiting_until"] = None
        return data

    def waiting_until_moment(self) -> dt.datetime | None:
        """The chosen day as the start of that UTC day, or None."""
        day = self.cleaned_data.get("waiting_until")
        if day is None:
            return None
        return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class CaseCommentForm(forms.Form):
    """A comment with a case action: approve, send back, reopen, resume."""

    comment = forms.CharField(
        required=False,
        max_length=REVIEW_COMMENT_MAX_LENGTH,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AssignmentForm(forms.Form):
    """Assign to me, to a named reviewer, or release the session."""

    ME, USER, RELEASE = "me", "user", "release"

    action = forms.ChoiceField(
        choices=[(ME, "Assign to me"), (USER, "Assign"), (RELEASE, "Release")]
    )
    assignee = forms.ChoiceField(required=False, label="Reviewer")

    def __init__(
        self, *args: Any, reviewers: Sequence[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Choose a reviewer…")] + [
            (username, username) for username in reviewers
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "action" in self._errors:
            # The action is the button pressed, not a field the page shows:
            # say it where the page shows errors.
            self.add_error(None, "Unknown action: use Assign, Assign to me or Release.")
        if data.get("action") == self.USER and not data.get("assignee"):
            self.add_error("assignee", "Choose the reviewer to assign.")
        return data


class _ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=LINK_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the client's audit history.",
    )

    def error_text(self) -> str:
        """Every error in one sentence, for a message after the redirect."""
        return " ".join(
            f"{self.fields[name].label if name in self.fields else ''}: {error}".lstrip(
                ": "
            )
            for name, errors in self.errors.items()
            for error in errors
        )


class IdentityLinkForm(_ReasonForm):
    """Link a provider identity (its id) to the client of the page."""

    identity = forms.IntegerField(label="Identity", min_value=1, max_value=2**63 - 1)


class IdentityUnlinkForm(_ReasonForm):
    """Unlink one of the client's identities."""


class RiskTierForm(forms.Form):
    """A reviewer sets a client's risk tier, or clears it ("derived"), with a reason."""

    DERIVED = "derived"

    tier = forms.ChoiceField(
        label="Risk tier",
        choices=[
            (DERIVED, "Derived from provider results"),
            *[(value, label) for value, label in RiskTier.choices if value],
        ],
    )
    reason = forms.CharField(
        label="Reason",
        max_length=RISK_TIER_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def tier_value(self) -> str:
        """The service's tier: "" clears the reviewer's tier."""
        tier = self.cleaned_data["tier"]
        return "" if tier == self.DERIVED else tier
