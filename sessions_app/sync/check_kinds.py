"""Check kinds for stored checks: the sync classifies every check it writes
(`normalization.classify_check`); this re-applies the providers' tables to the
checks already stored, after a table changes or when the column is added.

One UPDATE per provider, with the table as a CASE (exact types, then
prefixes in order, then the default), touching only rows whose kind changes.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Case, F, Value, When

from ..models import Check
from ..normalization import ROWS
from ..vocabulary import CheckKind


def _kind_case(provider_kind: str) -> Case:
    rows = ROWS[provider_kind]
    whens = [
        When(
            check_type__in=[t for t, k in rows.check_kinds.items() if k == kind],
            then=Value(str(kind)),
        )
        for kind in dict.fromkeys(rows.check_kinds.values())
    ]
    whens += [
        When(check_type__startswith=prefix, then=Value(str(kind)))
        for prefix, kind in rows.check_kind_prefixes
    ]
    return Case(
        *whens,
        default=Value(str(rows.check_kind_default or CheckKind.OTHER)),
        output_field=models.CharField(),
    )


def check_kinds_reclassify(*, check_model: type[models.Model] | None = None) -> int:
    """Set every stored check's kind from its provider's table; return rows changed.

    `check_model` lets a data migration pass its historical model.
    """
    check_model = check_model or Check
    changed = 0
    for provider_kind in ROWS:
        changed += (
            check_model.objects.filter(connection__kind=provider_kind)
            .alias(new_kind=_kind_case(provider_kind))
            .exclude(kind=F("new_kind"))
            .update(kind=F("new_kind"))
        )
    return changed
