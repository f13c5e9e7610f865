"""Erasure: data subjects' requests, and each provider's answer to a deletion.

The retention clock itself lives on `Client` (relationship end, legal hold,
erased at); the rules are `privacy/retention.py`, docs/data-protection.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from ..sync.values import ID_MAX
from ..vocabulary import ErasureRequestState, ProviderErasureOutcome
from .clients import Client, ProviderClient
from .connections import ProviderConnection


class ErasureRequest(models.Model):
    """A data subject's request to erase their data (GDPR Art. 17), as entered
    by a reviewer, and what Verity did with it."""

    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="erasure_requests"
    )
    # Who asked and how: words, not personal data of the subject ("the data
    # subject, by e-mail to dpo@", "their solicitor").
    requested_by = models.CharField(max_length=200)
    requested_on = models.DateField()
    # How the requester's identity was verified.
    verification = models.CharField(max_length=500)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    entered_at = models.DateTimeField(auto_now_add=True)
    state = models.CharField(max_length=20, choices=ErasureRequestState.choices)
    # Refused: until when the records must be kept, and why.
    keep_until = models.DateField(null=True, blank=True)
    state_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ErasureRequestState.values),
                name="erasure_request_state_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Erasure request {self.pk} ({self.state})"


class ProviderErasure(models.Model):
    """Verity asking one provider to delete one identity, and the answer (the proof)."""

    connection = models.ForeignKey(
        ProviderConnection, on_delete=models.PROTECT, related_name="erasures"
    )
    provider_client = models.ForeignKey(
        ProviderClient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="erasures",
    )
    client = models.ForeignKey(
        Client,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_erasures",
    )
    # The provider's id of the applicant/client (not personal on its own; kept
    # as the proof of what was asked).
    external_id = models.CharField(max_length=ID_MAX)
    requested_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(
        max_length=20,
        choices=ProviderErasureOutcome.choices,
        default=ProviderErasureOutcome.PENDING,
    )
    attempts = models.PositiveIntegerField(default=0)
    # The provider's request id and what it said, without personal data; for
    # `not_supported`, why the provider was not asked.
    response_excerpt = models.CharField(max_length=500, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "external_id"],
                name="provider_erasure_unique_identity",
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=ProviderErasureOutcome.values),
                name="provider_erasure_outcome_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["requested_at"],
                condition=models.Q(outcome__in=["pending", "failed"]),
                name="provider_erasure_open",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.external_id} {self.outcome}"
