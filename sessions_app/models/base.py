"""What every model package shares."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

ENV_VAR_NAME = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$",
    "Name of an environment variable (upper case letters, digits and underscores).",
)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
