"""The account page's mint form: a name and a lifetime from those on offer."""

from __future__ import annotations

from typing import Any

from django import forms

from .models import API_TOKEN_NAME_MAX_LENGTH
from .services import api_token_lifetimes_days


class ApiTokenMintForm(forms.Form):
    name = forms.CharField(
        max_length=API_TOKEN_NAME_MAX_LENGTH,
        help_text="What uses it, e.g. “reporting script”. Unique among your tokens.",
    )
    days = forms.TypedChoiceField(label="Expires after", coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lifetimes = api_token_lifetimes_days()
        self.fields["days"].choices = [(days, f"{days} days") for days in lifetimes]
        self.fields["days"].initial = min(30, lifetimes[-1])
