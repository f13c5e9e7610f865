"""Verity's domain: provider sessions mirrored locally, and the reviews made on them.

Integrity lives in the database: `(connection, external_id)` is unique for every
mirrored object and is the upsert key of the sync, and every choices column has a
CheckConstraint holding it to its vocabulary. Normalised `status`/`outcome`
always sit beside the provider's raw word (see `normalization.py`).

One module per concern: `connections` (provider connections and their sync
runs, quarantine, webhook deliveries), `clients`, `sessions` (sessions, checks,
policy assurance, tags; `attention`: the needs-attention rule), `reviews`,
`audit`, `privacy` (erasure requests and providers' answers to deletions). The vocabulary enumerations live in
`sessions_app/vocabulary.py` (no models needed to use them) and are re-exported
here, so `from sessions_app.models import Status` keeps working. A capability
package's models are re-exported here too (ApiToken, from `access/tokens/`;
ExternalIdentity, from `access/identities.py`; Approval and OutcomeOverride, from `cases/`).
"""

from ..access.identities import ExternalIdentity
from ..access.tokens.models import ApiToken
from ..cases.models import (
    Approval,
    ApprovalResult,
    Note,
    OutcomeOverride,
    OverrideState,
)
from ..cases.states import CaseState
from ..saved_views.models import SavedView
from ..vocabulary import (
    FINAL_STATUSES,
    CheckKind,
    ClientLinkSource,
    Decision,
    ErasureRequestState,
    Outcome,
    ProviderErasureOutcome,
    ProviderKind,
    ReasonCode,
    ReasonKind,
    RiskTier,
    RiskTierSource,
    Status,
    SyncRunState,
    SyncTrigger,
    TagKind,
)
from .attention import (
    NEEDS_ATTENTION_CASE_STATES,
    NEEDS_ATTENTION_OUTCOMES,
    NEEDS_ATTENTION_STATUSES,
    needs_attention_q,
    needs_attention_reason,
    needs_attention_words,
)
from .audit import (
    CHAIN_GENESIS_HASH,
    AuditChainHead,
    AuditChainVerification,
    AuditEvent,
)
from .base import ENV_VAR_NAME, TimeStampedModel
from .clients import Client, ProviderClient
from .connections import ProviderConnection, QuarantinedRecord, SyncRun, WebhookDelivery
from .privacy import ErasureRequest, ProviderErasure
from .reveals import PersonalDataReveal
from .reviews import Review
from .sessions import (
    Check,
    PolicyAssurance,
    SessionReason,
    Tag,
    WorkflowSession,
)
from .tallies import SessionTally

__all__ = [
    "CHAIN_GENESIS_HASH",
    "ENV_VAR_NAME",
    "FINAL_STATUSES",
    "NEEDS_ATTENTION_CASE_STATES",
    "NEEDS_ATTENTION_OUTCOMES",
    "NEEDS_ATTENTION_STATUSES",
    "ApiToken",
    "Approval",
    "ApprovalResult",
    "AuditChainHead",
    "AuditChainVerification",
    "AuditEvent",
    "CaseState",
    "Check",
    "CheckKind",
    "Client",
    "ClientLinkSource",
    "Decision",
    "ErasureRequest",
    "ErasureRequestState",
    "ExternalIdentity",
    "Note",
    "Outcome",
    "OutcomeOverride",
    "OverrideState",
    "PersonalDataReveal",
    "PolicyAssurance",
    "ProviderClient",
    "ProviderConnection",
    "ProviderErasure",
    "ProviderErasureOutcome",
    "ProviderKind",
    "QuarantinedRecord",
    "ReasonCode",
    "ReasonKind",
    "Review",
    "RiskTier",
    "RiskTierSource",
    "SavedView",
    "SessionReason",
    "SessionTally",
    "Status",
    "SyncRun",
    "SyncRunState",
    "SyncTrigger",
    "Tag",
    "TagKind",
    "TimeStampedModel",
    "WebhookDelivery",
    "WorkflowSession",
    "needs_attention_q",
    "needs_attention_reason",
    "needs_attention_words",
]
