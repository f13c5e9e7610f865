"""Clients under review, and the identities each provider knows them by."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from ..sync.values import ID_MAX, NAME_MAX
from ..vocabulary import ClientLinkSource
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

    class Meta:
        ordering = ["display_name", "id"]
        indexes = [
            # The daily retention sweep: clients whose relationship ended,
            # not on hold and not erased yet, oldest end first.
            models.Index(
                fields=["relationship_ended_on"],
                condition=models.Q(
                    relationship_ended_on__isnull=False,
                    legal_hold=False,
                    erased_at__isnull=True,
                ),
                name="client_retention_due",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=~models.Q(reference=""),
                name="client_reference_unique_when_set",
            )
        ]

    def __str__(self) -> str:
        return self.display_name or self.reference or f"Client {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("client-detail", args=[self.pk])


class ProviderClient(TimeStampedModel):
    """A client as one provider knows it (applicant, client, ICA project)."""

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.PROTECT, related_name="provider_clients"
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
