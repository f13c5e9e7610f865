"""Reads. Every list, detail, export and API queryset is built here, so the
pages, the API, the admin and the CSV exports all see the same rows.

Selectors never see a request: they take typed keyword arguments (a queryset
the FilterSets of `filters.py` already narrowed, a sort, a cursor, an id) and
return querysets or plain data. Imports run one way: the interfaces and
`filters.py` import selectors; selectors import models (and `pagination`,
`roles`), never filters, forms or views.

One module per page or concern: `sorting` (the session sort options, once for
the queue, the API, the CSV and the admin), `sessions`, `checks`, `clients`,
`search` (the free-text search), `overview`, `connections` (sync health and
the sync page), `audit`, `users`, `health`. Everything is re-exported here, so
`selectors.session_page` works without knowing the module.
"""

from .assurance import (
    AssuranceRow,
    ClientAssurance,
    Freshness,
    PolicyRow,
    client_assurance_get,
)
from .assurance_batch import KindSummary, client_assurance_summaries
from .audit import audit_event_list_for_object, audit_user_names
from .checks import check_export_queryset, check_queryset
from .client_directory import (
    DIRECTORY_PAGE_SIZE,
    ReviewCounts,
    client_directory_page,
    client_directory_queryset,
    client_providers,
    client_review_counts,
)
from .clients import (
    ClientDetail,
    client_detail_get,
    client_label_get,
    client_names,
    client_queryset,
    client_recent_sessions,
    client_with_identities_queryset,
)
from .connections import (
    QUARANTINE_EXCERPT_CHARS,
    STALE_AFTER_INTERVALS,
    SUCCESSFUL_RUN_STATES,
    ConnectionSyncStatus,
    ProviderHealth,
    SyncStatus,
    provider_connection_choices,
    provider_connection_get,
    provider_health_list,
    sync_notices,
    sync_run_error_summary,
    sync_run_queryset,
    sync_status_get,
)
from .health import database_reachable
from .overview import (
    AttentionSummary,
    CountRow,
    DailyActivity,
    SessionBreakdown,
    session_attention_summary,
    session_breakdown,
    session_daily_activity,
)
from .search import checks_search, sessions_search
from .sessions import (
    ACTIVE_OVERRIDES_ATTR,
    QUEUE_ROW_FIELDS,
    ROW_TAGS_ATTR,
    SESSION_API_ROW_FIELDS,
    SESSION_OBJECT_TYPE,
    TAG_ORDERING,
    SessionDetail,
    row_tags_prefetch,
    session_api_list_queryset,
    session_detail_get,
    session_detail_queryset,
    session_export_queryset,
    session_get,
    session_list_queryset,
    session_next_in_queue,
    session_page,
    session_queryset,
    session_queue_page,
    session_tag_names,
    session_total_estimate,
)
from .sorting import (
    CHECK_QUEUE_ORDERING,
    SESSION_DEFAULT_SORT,
    SESSION_QUEUE_ORDERING,
    SESSION_SORT_OPTIONS,
    SESSION_SORT_VALUES,
    SESSION_SORTS,
    SESSION_TIE_FIELD,
    SessionSort,
    session_sort_filter,
    session_sort_ordering,
)
from .users import reviewer_usernames, user_get_by_username, user_reviewers

__all__ = [
    "ACTIVE_OVERRIDES_ATTR",
    "CHECK_QUEUE_ORDERING",
    "DIRECTORY_PAGE_SIZE",
    "QUARANTINE_EXCERPT_CHARS",
    "QUEUE_ROW_FIELDS",
    "ROW_TAGS_ATTR",
    "SESSION_API_ROW_FIELDS",
    "SESSION_DEFAULT_SORT",
    "SESSION_OBJECT_TYPE",
    "SESSION_QUEUE_ORDERING",
    "SESSION_SORTS",
    "SESSION_SORT_OPTIONS",
    "SESSION_SORT_VALUES",
    "SESSION_TIE_FIELD",
    "STALE_AFTER_INTERVALS",
    "SUCCESSFUL_RUN_STATES",
    "TAG_ORDERING",
    "AssuranceRow",
    "AttentionSummary",
    "ClientAssurance",
    "ClientDetail",
    "ConnectionSyncStatus",
    "CountRow",
    "DailyActivity",
    "Freshness",
    "KindSummary",
    "PolicyRow",
    "ProviderHealth",
    "ReviewCounts",
    "SessionBreakdown",
    "SessionDetail",
    "SessionSort",
    "SyncStatus",
    "audit_event_list_for_object",
    "audit_user_names",
    "check_export_queryset",
    "check_queryset",
    "checks_search",
    "client_assurance_get",
    "client_assurance_summaries",
    "client_detail_get",
    "client_directory_page",
    "client_directory_queryset",
    "client_label_get",
    "client_names",
    "client_providers",
    "client_queryset",
    "client_recent_sessions",
    "client_review_counts",
    "client_with_identities_queryset",
    "database_reachable",
    "provider_connection_choices",
    "provider_connection_get",
    "provider_health_list",
    "reviewer_usernames",
    "row_tags_prefetch",
    "session_api_list_queryset",
    "session_attention_summary",
    "session_breakdown",
    "session_daily_activity",
    "session_detail_get",
    "session_detail_queryset",
    "session_export_queryset",
    "session_get",
    "session_list_queryset",
    "session_next_in_queue",
    "session_page",
    "session_queryset",
    "session_queue_page",
    "session_sort_filter",
    "session_sort_ordering",
    "session_tag_names",
    "session_total_estimate",
    "sessions_search",
    "sync_notices",
    "sync_run_error_summary",
    "sync_run_queryset",
    "sync_status_get",
    "user_get_by_username",
    "user_reviewers",
]
