"""The client directory's FilterSet: the page (/clients/), the API
(/api/v1/clients/) and the clients CSV read the same one (filters.py explains
the rules: blank is unset, values must name something, unknown parameters are
refused by the API and the export).

Tier, gaps and review date are read from the summary stored on each client
(`client_review`), so a filter is an index range, never a matrix per row.
"Due" and "overdue" compare the stored next review date with today, so a
client turns overdue at midnight without waiting for the daily task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from .client_review.rules import ReviewState, due_horizon
from .filter_fields import CheckedFilterSet, ChoiceInFilter, ReferenceCharInFilter
from .filters import provider_slugs, providers_unknown
from .models import Client, ProviderClient, ProviderConnection, RiskTier
from .selectors.client_directory import client_directory_queryset

NOT_SET = "none"
RISK_TIER_CHOICES = [
    *[(value, label) for value, label in RiskTier.choices if value],
    (NOT_SET, "Not set"),
]
YES_NO = [("true", "Yes"), ("false", "No")]


class ClientFilterSet(CheckedFilterSet):
    """Clients: search, provider, risk tier, gaps, re-verification."""

    q = filters.CharFilter(
        method="filter_q",
        label="Search",
        help_text="Client name (contains), or an exact reference or provider client id.",
    )
    reference = filters.CharFilter(field_name="reference", label="Reference")
    provider = ReferenceCharInFilter(
        method="filter_provider",
        label="Provider",
        help_text="Provider connection slug(s), comma-separated; each must exist. "
        "Clients known to any of them.",
        noun="provider",
        unknown=providers_unknown,
        known=provider_slugs,
    )
    risk_tier = ChoiceInFilter(
        method="filter_risk_tier",
        choices=RISK_TIER_CHOICES,
        label="Risk tier",
        help_text="low, medium, high, or 'none' (not set); comma-separated.",
    )
    has_gaps = filters.ChoiceFilter(
        method="filter_has_gaps",
        choices=YES_NO,
        label="Has gaps",
        help_text="'true': a kind the client's tier requires was never checked.",
    )
    review = ChoiceInFilter(
        method="filter_review",
        choices=ReviewState.CHOICES,
        label="Re-verification",
        help_text="'due' (next review within VERITY_REVIEW_DUE_WITHIN_DAYS), "
        "'overdue' (its date has passed), 'unverified' (never completely "
        "verified: no date); comma-separated.",
    )

    class Meta:
        model = Client
        fields: list[str] = []

    def filter_q(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return qs
        # EXISTS, not a join: a client known to several providers is one row.
        known_as = ProviderClient.objects.filter(
            client_id=OuterRef("pk"), external_id=value
        )
        return qs.filter(
            Q(display_name__icontains=value) | Q(reference=value) | Q(Exists(known_as))
        )

    def filter_provider(self, qs: QuerySet, name: str, values: list[str]) -> QuerySet:
        if not values:
            return qs
        # The connection ids as literals: the planner then probes each client's
        # identities by index instead of guessing. The check of the slugs
        # (`providers_unknown`) looked them up already.
        resolved = self.resolved.get("provider")
        if resolved is None:
            resolved = dict(
                ProviderConnection.objects.filter(slug__in=values).values_list(
                    "slug", "pk"
                )
            )
        connection_ids = [resolved[slug] for slug in values if slug in resolved]
        known_to = ProviderClient.objects.filter(
            client_id=OuterRef("pk"), connection_id__in=connection_ids
        )
        return qs.filter(Exists(known_to))

    def filter_risk_tier(self, qs: QuerySet, name: str, values: list[str]) -> QuerySet:
        if not values:
            return qs
        return qs.filter(risk_tier__in=["" if v == NOT_SET else v for v in values])

    def filter_has_gaps(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return qs
        return qs.filter(has_gaps=value == "true")

    def filter_review(self, qs: QuerySet, name: str, values: list[str]) -> QuerySet:
        if not values:
            return qs
        today = timezone.localdate()
        wanted = Q()
        if ReviewState.OVERDUE in values:
            wanted |= Q(next_review_due__lt=today)
        if ReviewState.DUE in values:
            wanted |= Q(
                next_review_due__gte=today, next_review_due__lte=due_horizon(today)
            )
        if ReviewState.UNVERIFIED in values:
            wanted |= Q(next_review_due__isnull=True)
        return qs.filter(wanted)


def client_filterset(
    *, params: QueryDict | Mapping[str, Any], request: HttpRequest | None = None
) -> ClientFilterSet:
    """Return the directory's FilterSet bound to `params` over its rows."""
    return ClientFilterSet(
        data=params, queryset=client_directory_queryset(), request=request
    )


class ClientDirectoryForm(forms.Form):
    """Render the directory's filters; the FilterSet validates and applies them."""

    q = forms.CharField(
        required=False,
        label="Search",
        help_text="Name, or an exact reference or provider id.",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or id"}),
    )
    provider = forms.ChoiceField(required=False, label="Provider")
    risk_tier = forms.ChoiceField(
        required=False,
        label="Risk tier",
        choices=[("", "Any"), *RISK_TIER_CHOICES],
    )
    has_gaps = forms.ChoiceField(
        required=False, label="Has gaps", choices=[("", "Any"), *YES_NO]
    )
    review = forms.ChoiceField(
        required=False,
        label="Re-verification",
        choices=[("", "Any"), *ReviewState.CHOICES, ("due,overdue", "Due or overdue")],
    )

    def __init__(
        self, params: Mapping[str, Any], *, providers: list[tuple[str, str]]
    ) -> None:
        # Unbound, showing the query string: the FilterSet validates (and
        # reports) the values, so the form never says a valid list is wrong.
        current = {name: (params.get(name) or "").strip() for name in self.base_fields}
        super().__init__(initial=current)
        self.fields["provider"].choices = [("", "Any"), *providers]
        for name, value in current.items():
            field = self.fields[name]
            # A comma-separated value the select does not offer is still shown.
            offered = {str(choice) for choice, _ in getattr(field, "choices", [])}
            if value and isinstance(field, forms.ChoiceField) and value not in offered:
                field.choices = [*field.choices, (value, value)]
