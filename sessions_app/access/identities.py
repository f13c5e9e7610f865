"""Which identity-provider subject is which Verity user."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ExternalIdentity(models.Model):
    """An SSO subject (`iss` + `sub`) bound to the user it signs in as.

    Users are matched on this pair, never on their email address: an account at
    the identity provider that claims a local account's address (a break-glass
    admin's, say) must not become that account.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="external_identity",
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    # The identity provider's groups at the last sign-in (what the roles follow).
    groups = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "sessions_app"
        verbose_name = "SSO identity"
        verbose_name_plural = "SSO identities"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="external_identity_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
