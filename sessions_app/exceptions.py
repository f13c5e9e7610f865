"""One error hierarchy for Verity. Interfaces map these to HTTP or exit codes."""

from __future__ import annotations


class ApplicationError(Exception):
    """A failure the user or operator should read, with optional details."""

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ProviderError(ApplicationError):
    """A provider answered with an error, or could not be reached.

    `status` is the HTTP status (None for connection problems); `error_type` is
    the provider's own error type or code (Onfido `error.type`, ComplyCube
    `type`, ICA problem `title`).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        error_type: str = "",
        extra: dict | None = None,
    ) -> None:
        super().__init__(message, extra=extra)
        self.provider = provider
        self.status = status
        self.error_type = error_type

    def __str__(self) -> str:
        where = f"{self.provider} " if self.provider else ""
        status = f"HTTP {self.status} " if self.status else ""
        kind = f"[{self.error_type}] " if self.error_type else ""
        return f"{where}{status}{kind}{self.message}".strip()


class ProviderAuthError(ProviderError):
    """401/403: the credential is missing, wrong or lacks permission."""


class ProviderNotFound(ProviderError):
    """404/410: the resource is gone (deleted, retention, sandbox purge)."""


class ProviderBadRequest(ProviderError):
    """400/422: the provider rejected the request as malformed."""


class ProviderUnavailable(ProviderError):
    """5xx, time-outs and connection errors that survived the retries."""


class ProviderRateLimited(ProviderError):
    """429: wait `retry_after` seconds (reschedule the task, do not sleep)."""

    def __init__(
        self, message: str = "rate limited", *, retry_after: float, **kwargs
    ) -> None:
        super().__init__(message, status=kwargs.pop("status", 429), **kwargs)
        self.retry_after = retry_after


class ProviderResponseInvalid(ProviderError):
    """The provider answered 2xx with a body that is not what its contract says."""


class ProviderConfigurationError(ApplicationError):
    """A connection is misconfigured (missing environment variable, bad option)."""
