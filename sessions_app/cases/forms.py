"""What case work's pages post beyond a comment: the outcome override request."""

from __future__ import annotations

from django import forms

from ..services import REVIEW_COMMENT_MAX_LENGTH
from ..vocabulary import Outcome, ReasonCode
from .models import OVERRIDE_TARGETS
from .reasons import OVERRIDE_REASONS


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
