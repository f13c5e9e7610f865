"""Django admin: the compliance leads' tool for fixing data and configuration.

Built for big tables: no full counts, explicit joins, no foreign-key dropdowns,
no facets. Raw payloads are read-only and pretty-printed. Every add, change,
many-to-many edit, password change and delete made here writes an AuditEvent
with before and after (AuditedModelAdmin), in the transaction of the change.
An existing row is saved with only the fields its form changed, so an edit
never writes back stale values of fields the sync owns.
Secrets never appear: connections hold only the names of environment variables.

One module per concern (`connections`, `clients`, `sessions`, `audit`,
`users`, `tokens`, `lockouts`), each registering its admins when imported; `base` holds
what they share (AuditedModelAdmin, ReadOnlyAdmin, pretty JSON).
"""

from . import audit, clients, connections, lockouts, sessions, tokens, users
from .base import AuditedModelAdmin, ReadOnlyAdmin, pretty_json, pretty_json_text

__all__ = [
    "AuditedModelAdmin",
    "ReadOnlyAdmin",
    "audit",
    "clients",
    "connections",
    "lockouts",
    "pretty_json",
    "pretty_json_text",
    "sessions",
    "tokens",
    "users",
]
