"""Clients under review, and the identities each provider knows them by."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from ..sync.values import ID_MAX, NAME_MAX
from ..vocabulary import ClientLinkSource, RiskTier, RiskTierSource
from .base import TimeStampedModel
from .connections import ProviderConnection


class Client(TimeStampedModel):
    """The person or company under review, across all providers."""

    display_name = models.CharField(max_length=255, blank=True)
    # The shared key (Onfido customer_user_id, ComplyCube externalId) that joins
    # provider clients automatically.
    reference = models.CharField(max_length=255, blank=True, db_index=True)
    # The retention clock (privacy/retention.py; docs/data-protection.md): the
    # records are kept VERITY_RETENTION_YEARS after the relationship ends,
    # unless on legal hold, then erased (`erased_at`).
    relationship_ended_on = models.DateField(null=True, blank=True)
    # Database defaults too: rows written outside the ORM (the bench
    # generator's COPY) need not name them.
    legal_hold = models.BooleanField(default=False, db_default=False)
    legal_hold_reason = models.CharField(max_length=500, blank=True, db_default="")
    erased_at = models.DateTimeField(null=True, blank=True)

    # The review schedule (docs/assurance.md), stored so the directory filters
    # without deriving every client's matrix: written only by
    # `client_review` (the daily refresh, the refresh of clients the sync
    # touched, a reviewer's tier, audited).
    # Database defaults too: the bench generator and other bulk loaders
    # insert clients without naming these columns.
    risk_tier = models.CharField(
        max_length=20, choices=RiskTier.choices, blank=True, default="", db_default=""
    )
    risk_tier_source = models.CharField(
        max_length=20,
        choices=RiskTierSource.choices,
        default=RiskTierSource.DERIVED,
        db_default=RiskTierSource.DERIVED,
    )
    # What the rule derives, kept while a reviewer's tier wins over it.
    risk_tier_derived = models.CharField(
        max_length=20, choices=RiskTier.choices, blank=True, default="", db_default=""
    )
    risk_tier_reason = models.TextField(blank=True, default="", db_default="")
    next_review_due = models.DateField(null=True, blank=True)
    has_gaps = models.BooleanField(default=False, db_default=False)
    # The newest change of any of its sessions at the provider.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    assurance_refreshed_at = models.DateTimeField(null=True, blank=True)
    # Set by the sync when one of its sessions changed; cleared by the refresh.
    assurance_stale = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=~models.Q(reference=""),
                name="client_reference_unique_when_set",
            ),
            models.CheckConstraint(
                condition=models.Q(risk_tier__in=RiskTier.values),
                name="client_risk_tier_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(risk_tier_derived__in=RiskTier.values),
                name="client_risk_tier_derived_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(risk_tier_source__in=RiskTierSource.values),
                name="client_risk_tier_source_valid",
            ),
        ]
        # The directory: pages in name order (keyset), narrowed by tier, gaps
        # or review date; the stale ones for the sync's follow-up refresh; the
        # daily retention sweep: clients whose relationship ended, not on hold
        # and not erased yet, oldest end first.
        indexes = [
            models.Index(
                fields=["relationship_ended_on"],
                condition=models.Q(
                    relationship_ended_on__isnull=False,
                    legal_hold=False,
                    erased_at__isnull=True,
                ),
                name="client_retention_due",
            ),
            models.Index(fields=["display_name", "id"], name="client_name_id"),
            models.Index(
                fields=["risk_tier", "display_name", "id"], name="client_tier_name"
            ),
            models.Index(
                fields=["display_name", "id"],
                condition=models.Q(has_gaps=True),
                name="client_gaps_name",
            ),
            models.Index(fields=["next_review_due"], name="client_next_review"),
            models.Index(
                fields=["id"],
                condition=models.Q(assurance_stale=True),
                name="client_assurance_stale",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.reference or f"Client {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("client-detail", args=[self.pk])


class ProviderClient(TimeStampedModel):
    """A client as one provider knows it (applicant, client, ICA project)."""

    connection = models.ForeignKey(
        ProviderConnection,
        on_delete=models.PROTECT,
        related_name="provider_clients",
        db_index=False,  # provider_client_unique_external_id begins with it
    )
    external_id = models.CharField(max_length=ID_MAX)
    name = models.CharField(max_length=NAME_MAX, blank=True)
    external_reference = models.CharField(
        max_length=NAME_MAX, blank=True, db_index=True
    )
    client = models.ForeignKey(
        Client,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_clients",
    )
    link_source = models.CharField(
        max_length=20,
        choices=ClientLinkSource.choices,
        default=ClientLinkSource.AUTOMATIC,
    )
    raw_payload = models.JSONField(default=dict, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True)
    # Set when its personal data was erased (privacy/erasure.py): the sync
    # never writes this identity or its sessions again.
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["connection", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"],
                name="provider_client_unique_external_id",
            ),
            models.CheckConstraint(
                condition=models.Q(link_source__in=ClientLinkSource.values),
                name="provider_client_link_source_valid",
            ),
        ]
        indexes = [models.Index(Lower("name"), name="provider_client_name_lower")]

    def __str__(self) -> str:
        return self.name or self.external_id
