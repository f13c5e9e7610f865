"""HTML forms of the staff pages.

Forms only check the shape of input. What a filter means lives in filters.py
(shared with the API and CSV); what a decision or an assignment may do lives in
services.py, which raises ApplicationError for anything the forms let through.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms

from .filters import ASSIGNED_TO_ME, OUTCOME_CHOICES, UNASSIGNED
from .models import Decision, ReasonCode, Status
from .selectors import SESSION_DEFAULT_SORT, SESSION_SORTS

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = PAGE_SIZES[0]
COMMENT_MAX_LENGTH = 4000
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _with_current(
    choices: list[tuple[str, str]], current: str | None
) -> list[tuple[str, str]]:
    """Keep a bookmarked value the select does not offer (`status=a,b`) selectable."""
    if current and current not in {value for value, _ in choices}:
        return [*choices, (current, current)]
    return choices


class QueueFilterForm(forms.Form):
    """Render the review queue's filters. The FilterSet validates and applies them.

    Bound to the query string so the form shows what the page is filtered by;
    its own validation is never used.
    """

    provider = forms.ChoiceField(required=False, label="Provider")
    status = forms.ChoiceField(required=False, label="Status")
    outcome = forms.ChoiceField(required=False, label="Outcome")
    q = forms.CharField(
        required=False,
        label="Search",
        help_text="Client name, or an exact session, client or provider id.",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or id"}),
    )
    tag = forms.CharField(required=False, label="Tag")
    workflow = forms.CharField(
        required=False, label="Workflow", help_text="Id or name."
    )
    assignee = forms.CharField(
        required=False,
        label="Assignee",
        help_text=f"Username, “{ASSIGNED_TO_ME}” or “{UNASSIGNED}”.",
    )
    created_after = forms.CharField(
        required=False,
        label="Created from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = forms.CharField(
        required=False,
        label="Created until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        providers: Sequence[tuple[str, str]] = (),
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
        for name in ("created_after", "created_before"):
            # A bookmarked date-time (or a typo) is not a value a date picker can
            # hold; it would silently drop it on the next submit. Show it as text.
            value = (data.get(name) or "").strip()
            if value and not ISO_DATE.fullmatch(value):
                self.fields[name].widget = forms.TextInput(
                    attrs={"placeholder": "YYYY-MM-DD"}
                )


class QueueOptionsForm(forms.Form):
    """Sort order, page size and cursor of the review queue."""

    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for key in SESSION_SORTS]
        + [(f"-{key}", f"-{key}") for key in SESSION_SORTS],
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


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=Decision.choices, widget=forms.RadioSelect, label="Decision"
    )
    reason_code = forms.ChoiceField(
        choices=[("", "Choose a reason…"), *ReasonCode.choices], label="Reason"
    )
    comment = forms.CharField(
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        label="Comment",
        help_text="Required when the reason is “Other”. Kept separately from the reason.",
        widget=forms.Textarea(attrs={"rows": 4}),
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
        if data.get("action") == self.USER and not data.get("assignee"):
            self.add_error("assignee", "Choose the reviewer to assign.")
        return data
