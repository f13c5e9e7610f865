"""CSV exports for auditors: what the review queue shows, streamed.

Both exports read the same FilterSets and selectors as the pages and the API, so
a CSV holds exactly the rows of the queue for the same query string, in the
queue's order: the sessions export follows the queue's `sort` parameter
(`selectors.session_sort_ordering`), the checks export their session's place
in the default queue order. A parameter that is neither a filter nor `sort`
is refused with a 400 naming the accepted ones, never ignored.

Streaming: the rows come from `values_list().iterator(chunk_size=2000)`, are
formatted by `csv.writer` into an "Echo" pseudo-buffer (Django's documented
pattern) and leave in batches, so memory holds one chunk whatever the row
count. Tags are read once per chunk, not per row.

Encoding: UTF-8 with a byte order mark. Excel (the auditors' tool) reads a
BOM-less UTF-8 CSV as the local ANSI code page and garbles accented client
names; Python's `utf-8-sig`, pandas and LibreOffice all skip the BOM. Scripts
that want clean UTF-8 should use the REST API.

Formula injection (OWASP "CSV Injection"): every text cell that a provider or
a user wrote goes through `csv_safe_cell()`, and every cell is quoted
(`csv.QUOTE_ALL`). Numeric and date-time columns are written as-is, so a
count stays a number and an ISO date stays a date.

Audit: each export writes an AuditEvent (`export.sessions_csv` /
`export.checks_csv`) before the first byte, with who, from where and which
filters; when the stream ends a second event, `export.sessions_csv.finished` /
`export.checks_csv.finished` (its `object_id` and `after.export_event_id` name
the first), records the row count (`after.row_count`) and whether the
download finished (`after.completed`), in its own transaction. Audit events
are never updated (the hash chain, privacy/audit_chain.py). A download cut
short still leaves both, the second marked incomplete.

One module per concern: `cells` (the columns and each cell's format),
`postgres` (the same cells as SQL, for COPY), `stream` (the streamed,
audited response, also used by the admin's "Export selected" actions) and
`clients` (the clients CSV: the directory with the assurance summary per
check kind, always the Python writer), `views` (the URLs); `evidence` (the
evidence packs, PDF, not CSV). The
public names are re-exported here.
"""

from .cells import (
    CHECK_COLUMNS,
    CHECK_EXTRA_HEADERS,
    FORMULA_TRIGGERS,
    SESSION_COLUMNS,
    SESSION_EXTRA_HEADERS,
    Column,
    csv_datetime,
    csv_number,
    csv_safe_cell,
)
from .clients import client_csv_response
from .evidence import client_evidence_pdf, session_evidence_pdf
from .stream import (
    check_csv_response,
    csv_stream,
    export_filename,
    session_csv_response,
)
from .views import checks_csv, clients_csv, sessions_csv

__all__ = [
    "CHECK_COLUMNS",
    "CHECK_EXTRA_HEADERS",
    "FORMULA_TRIGGERS",
    "SESSION_COLUMNS",
    "SESSION_EXTRA_HEADERS",
    "Column",
    "check_csv_response",
    "checks_csv",
    "client_csv_response",
    "client_evidence_pdf",
    "clients_csv",
    "csv_datetime",
    "csv_number",
    "csv_safe_cell",
    "csv_stream",
    "export_filename",
    "session_csv_response",
    "session_evidence_pdf",
    "sessions_csv",
]
