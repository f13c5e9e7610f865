"""Verity's normalised vocabulary: the words every provider's own words map to.

Plain enumerations with no database behind them, so the provider adapters and
the normalisation table can use them without importing the models (the
layering rule: adapters never import models). The models, forms, filters and
pages take them from here through `sessions_app.models`, which re-exports them.
"""

from __future__ import annotations

from django.db import models


class ProviderKind(models.TextChoices):
    ONFIDO = "onfido", "Onfido"
    COMPLYCUBE = "complycube", "ComplyCube"
    ICA = "ica", "Illumina ICA"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    AWAITING_INPUT = "awaiting_input", "Awaiting input"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned"
    CANCELLED = "cancelled", "Cancelled"
    UNKNOWN = "unknown", "Unknown"


# Statuses after which a provider is not expected to change the session again
# (monitoring may still reopen one; the periodic full sync catches that).
FINAL_STATUSES = frozenset(
    {Status.COMPLETED, Status.FAILED, Status.ABANDONED, Status.CANCELLED}
)


class CheckKind(models.TextChoices):
    """What a check verifies, whichever provider ran it (issue 18's taxonomy).

    Each provider's check types map to these in its `rows.py` (`check_kinds`);
    a type not listed is `other`, and the sync counts it like an unknown status.
    """

    DOCUMENT = "document", "Document"
    BIOMETRICS = "biometrics", "Face match / biometrics"
    LIVENESS = "liveness", "Liveness"
    SCREENING = "screening", "Watchlist / sanctions / PEP screening"
    ADVERSE_MEDIA = "adverse_media", "Adverse media"
    PROOF_OF_ADDRESS = "proof_of_address", "Proof of address"
    IDENTITY = "identity", "Identity / database"
    AML_RISK = "aml_risk", "AML risk"
    FRAUD_SIGNALS = "fraud_signals", "Device / fraud signals"
    PIPELINE_ANALYSIS = "pipeline_analysis", "Pipeline analysis"
    OTHER = "other", "Other"


class ReasonKind(models.TextChoices):
    """Why a provider did not clear a session, whichever provider said it
    (issue 18's reason taxonomy; not the reviewer's `ReasonCode`).

    Each provider's reason words map to these in its `rows.py`
    (`reason_kinds`); a word not listed is `other`, and the sync counts it
    like an unknown status.
    """

    DOCUMENT_REJECTED = "document_rejected", "Document rejected"
    DOCUMENT_SUSPECTED = "document_suspected", "Document suspected of fraud"
    DOCUMENT_EXPIRED = "document_expired", "Document expired"
    FACE_MISMATCH = "face_mismatch", "Face does not match"
    LIVENESS_FAILED = "liveness_failed", "Liveness not shown"
    WATCHLIST_MATCH = "watchlist_match", "Watchlist / sanctions match"
    PEP_MATCH = "pep_match", "Politically exposed person"
    ADVERSE_MEDIA = "adverse_media", "Adverse media"
    ADDRESS_UNVERIFIED = "address_unverified", "Address not verified"
    IDENTITY_UNVERIFIED = "identity_unverified", "Identity not verified"
    FRAUD_SUSPECTED = "fraud_suspected", "Fraud suspected"
    MANUAL_REVIEW = "manual_review", "Manual review required"
    PIPELINE_FAILED = "pipeline_failed", "Pipeline failed"
    OTHER = "other", "Other"


class Outcome(models.TextChoices):
    NONE = "", "None yet"
    CLEAR = "clear", "Clear"
    ATTENTION = "attention", "Attention"
    REJECTED = "rejected", "Rejected"


class ClientLinkSource(models.TextChoices):
    AUTOMATIC = "automatic", "Automatic (external reference)"
    MANUAL = "manual", "Manual"


class TagKind(models.TextChoices):
    USER = "user", "User"
    TECHNICAL = "technical", "Technical"


class SyncRunState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Partial (resumes next run)"
    FAILED = "failed", "Failed"
    RATE_LIMITED = "rate_limited", "Rate limited (rescheduled)"
    SKIPPED = "skipped", "Skipped (already running)"
    # Stopped by a signal (a deploy) or found dead (its lease expired): its
    # committed pages stay, and the next run resumes from its cursor.
    INTERRUPTED = "interrupted", "Interrupted (resumes next run)"


class SyncTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    MANUAL = "manual", "Manual"
    FULL = "full", "Full re-sync"
    WEBHOOK = "webhook", "Webhook"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ESCALATE = "escalate", "Escalate"
    REQUEST_INFORMATION = "request_information", "Request information"


class ReasonCode(models.TextChoices):
    VERIFIED = "verified", "Identity verified"
    DOCUMENT_ISSUE = "document_issue", "Document problem"
    BIOMETRIC_MISMATCH = "biometric_mismatch", "Face / biometric mismatch"
    WATCHLIST_MATCH = "watchlist_match", "Watchlist / PEP / sanctions match"
    ADVERSE_MEDIA = "adverse_media", "Adverse media"
    FRAUD_SUSPECTED = "fraud_suspected", "Fraud suspected"
    INCOMPLETE = "incomplete", "Incomplete or missing data"
    PROVIDER_ERROR = "provider_error", "Provider error"
    NEEDS_SENIOR_REVIEW = "needs_senior_review", "Needs senior review"
    OTHER = "other", "Other (see comment)"


class ProviderErasureOutcome(models.TextChoices):
    """What came of asking a provider to delete a client (privacy/provider_erasure.py)."""

    PENDING = "pending", "Pending"
    DELETED = "deleted", "Deleted"
    # A 404/410: the provider holds nothing under that id any more (deleted
    # earlier, by Verity or by the provider's own retention): counts as deleted.
    ALREADY_GONE = "already_gone", "Already gone"
    # The provider's API cannot delete one person's data: not asked (the
    # erasure's `response_excerpt` says why).
    NOT_SUPPORTED = "not_supported", "Not supported by the provider"
    # Every attempt failed; the daily retention task asks again.
    FAILED = "failed", "Failed"


PROVIDER_ERASURE_DONE = frozenset(
    {
        ProviderErasureOutcome.DELETED,
        ProviderErasureOutcome.ALREADY_GONE,
        ProviderErasureOutcome.NOT_SUPPORTED,
    }
)


class ErasureRequestState(models.TextChoices):
    """A data subject's erasure request (privacy/retention.py)."""

    # The retention clock still runs (GDPR Art. 17(3)(b)): kept until `keep_until`.
    REFUSED = "refused", "Refused: records must be kept"
    ERASED = "erased", "Accepted: erased"


class RiskTier(models.TextChoices):
    """A client's risk tier (docs/assurance.md): it sets the review cadence and
    the kinds a client must have verified. Blank: not set (no sessions yet)."""

    NOT_SET = "", "Not set"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class RiskTierSource(models.TextChoices):
    DERIVED = "derived", "Derived from provider results"
    REVIEWER = "reviewer", "Set by a reviewer"
