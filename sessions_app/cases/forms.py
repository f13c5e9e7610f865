"""What case work's pages post beyond a decision: the note, the queue's bulk
bar, and the outcome override request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from ..services import REVIEW_COMMENT_MAX_LENGTH
from ..vocabulary import Decision, Outcome, ReasonCode
from .bulk import BULK_MAX_SESSIONS, BulkAction
from .models import NOTE_MAX_LENGTH, OVERRIDE_TARGETS
from .reasons import OVERRIDE_REASONS


class NoteForm(forms.Form):
    text = forms.CharField(
        label="New note",
        max_length=NOTE_MAX_LENGTH,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Plain text, at most {NOTE_MAX_LENGTH:,} characters. Notes "
        "cannot be edited: a correction is a new note.",
    )


class SessionIdsField(forms.Field):
    """A list of session ids from repeated inputs (checkboxes, hidden)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        try:
            ids = [int(v) for v in value]
        except (TypeError, ValueError):
            raise forms.ValidationError(
                "The selection holds a bad session id."
            ) from None
        if any(pk <= 0 for pk in ids):
            raise forms.ValidationError("The selection holds a bad session id.")
        return ids


class BulkForm(forms.Form):
    """The queue's bulk bar: the rows ticked (`ids`), or every row of the page
    (`all_on_page` with the page's `page_ids`), and one action."""

    ids = SessionIdsField(required=False)
    page_ids = SessionIdsField(required=False)
    all_on_page = forms.BooleanField(required=False, label="Select all on this page")
    action = forms.ChoiceField(choices=BulkAction.choices, label="Action")
    assignee = forms.ChoiceField(required=False, label="Reviewer")
    text = forms.CharField(
        required=False,
        max_length=NOTE_MAX_LENGTH,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    decision = forms.ChoiceField(
        required=False, choices=[("", "Choose a decision…"), *Decision.choices]
    )
    reason_code = forms.ChoiceField(
        required=False,
        label="Reason",
        choices=[("", "Choose a reason…"), *ReasonCode.choices],
    )
    comment = forms.CharField(
        required=False,
        max_length=REVIEW_COMMENT_MAX_LENGTH,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, reviewers: Sequence[str] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Choose a reviewer…")] + [
            (username, username) for username in reviewers
        ]

    def selected_ids(self) -> list[int]:
        data = self.cleaned_data
        return list(data["page_ids"] if data.get("all_on_page") else data["ids"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        chosen = data.get("page_ids") if data.get("all_on_page") else data.get("ids")
        if not chosen and not ({"ids", "page_ids"} & set(self._errors)):
            self.add_error(None, "Select at least one session.")
        elif chosen and len(chosen) > BULK_MAX_SESSIONS:
            self.add_error(None, f"Select at most {BULK_MAX_SESSIONS} sessions.")
        if data.get("action") == BulkAction.ASSIGN and not data.get("assignee"):
            self.add_error("assignee", "Choose the reviewer to assign.")
        if data.get("action") == BulkAction.DECIDE:
            if not data.get("decision"):
                self.add_error("decision", "Choose a decision.")
            if not data.get("reason_code"):
                self.add_error("reason_code", "Choose a reason.")
        return data


def _fits(code: str) -> str:
    return ", ".join(
        Outcome(outcome).label.lower()
        for outcome, codes in OVERRIDE_REASONS.items()
        if code in codes
    )


class OverrideForm(forms.Form):
    """Override a session's outcome: to what, why (a fitting reason, the
    service checks the pair), and a comment. The service says what is wrong
    with a valid-looking request; the form only parses."""

    outcome = forms.ChoiceField(
        choices=[(value, Outcome(value).label) for value in OVERRIDE_TARGETS],
        widget=forms.Select(attrs={"id": "id_override_outcome"}),
    )
    reason_code = forms.ChoiceField(
        # Each reason names the outcomes it can justify.
        choices=[
            (code, f"{label} ({_fits(code)})")
            for code, label in ReasonCode.choices
            if _fits(code)
        ],
        widget=forms.Select(attrs={"id": "id_override_reason_code"}),
    )
    comment = forms.CharField(
        max_length=REVIEW_COMMENT_MAX_LENGTH,
        widget=forms.Textarea(
            attrs={"id": "id_override_comment", "rows": 2, "maxlength": 4000}
        ),
    )
