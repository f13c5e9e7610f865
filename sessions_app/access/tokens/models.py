"""ApiToken: knox's token with a name and the time it was last used.

Knox keeps a SHA-512 digest of the secret (the primary key) and its first 15
characters (`token_key`, the prefix `verity_` and 8 random hex digits) to find
the row; the other 56 hex digits (224 random bits) exist only in the digest.
The secret itself is never stored: it is shown once, when minted.
"""

from __future__ import annotations

from django.db import models
from knox.models import AbstractAuthToken

API_TOKEN_NAME_MAX_LENGTH = 100


class ApiToken(AbstractAuthToken):
    name = models.CharField(max_length=API_TOKEN_NAME_MAX_LENGTH)
    # Stamped at most once a minute (services.api_token_used_record).
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="api_token_name")
        ]

    def __str__(self) -> str:
        # Never the digest: the name and the prefix the owner sees on their page.
        return f"{self.name} ({self.token_key}…)"
