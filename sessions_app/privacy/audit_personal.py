"""What the audit trail must not hold: the names of the people Verity reviews.

The trail is append-only and hash-chained, so a name written into an event
could never be erased with the rest of a client's data. Events therefore name
a client or a provider identity by id (`audit_object_label`), and a snapshot
of one (an admin edit, a deletion) carries a keyed fingerprint of its name
instead of the name (`audit_snapshot_personal`): a change still shows as a
change, the value does not. Raw payloads never reach a snapshot at all
(`services.SNAPSHOT_EXCLUDED`). docs/data-protection.md says what older
events may still hold.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from django.conf import settings
from django.db import models

from ..models import Client, ProviderClient

# Model -> the fields holding a person's name.
PERSONAL_SNAPSHOT_FIELDS: dict[type[models.Model], frozenset[str]] = {
    Client: frozenset({"display_name"}),
    ProviderClient: frozenset({"name"}),
}


def audit_object_label(obj: models.Model) -> str:
    """The `object_repr` of an event about `obj`: never a person's name."""
    if isinstance(obj, Client):
        return f"Client {obj.pk}"
    if isinstance(obj, ProviderClient):
        return f"Provider identity {obj.external_id}"
    return str(obj)


def personal_fingerprint(value: str) -> str:
    """A keyed fingerprint of a personal value ("" stays ""): equal values
    match, the value cannot be read back without the server's secret key."""
    if not value:
        return ""
    key = hashlib.sha256(
        f"verity-audit-personal:{settings.SECRET_KEY}".encode()
    ).digest()
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"fingerprint:{digest[:16]}"


def audit_snapshot_personal(
    instance: models.Model, data: dict[str, Any]
) -> dict[str, Any]:
    """Replace the personal values of a snapshot of `instance` by fingerprints."""
    for name in PERSONAL_SNAPSHOT_FIELDS.get(type(instance), ()):
        if name in data and isinstance(data[name], str):
            data[name] = personal_fingerprint(data[name])
    return data
