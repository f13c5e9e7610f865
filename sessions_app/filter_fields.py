"""The parts the FilterSets of `filters.py` are built from: filters for
comma-separated lists, ids and flexible dates, and the rule that a blank
value leaves a filter unset (the same on the queue, the API and the CSV).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import extend_schema_field


class ChoiceInFilter(filters.BaseInFilter, filters.ChoiceFilter):
    """Comma-separated values, each validated against the choices."""


class CharInFilter(filters.BaseInFilter, filters.CharFilter):
    """Comma-separated free values (slugs, names)."""


# The API schema's type for IdFilter (drf-spectacular reads this annotation).
@extend_schema_field(
    {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}
)
class IdFilter(filters.NumberFilter):
    """A database id: a whole number within BIGINT range.

    A plain NumberFilter accepts `1e400` or 25 digits and the database then
    fails with an overflow (a 500); out-of-range ids are a form error instead.
    """

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


# The value goes in as a parameter, never into the message itself: messages are
# %-formatted when rendered, and a value holding "%" would break that (a 500).
NOT_A_DATE = "%(value)s is not a date (YYYY-MM-DD) or date-time (ISO 8601)."


# The API schema's type for FlexibleDateTimeFilter: a date or a date-time.
@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "format": "date"},
            {"type": "string", "format": "date-time"},
        ],
        "description": "An ISO date (YYYY-MM-DD: the whole day, UTC) or an ISO 8601 "
        "date-time (UTC when it has no offset).",
    }
)
class FlexibleDateTimeFilter(filters.Filter):
    """Accept an ISO date (`2026-01-31`) or date-time; compare on the indexed column.

    A bare date means the whole day: `created_before=2026-01-31` includes the 31st.
    """

    field_class = filters.fields.forms.CharField

    def __init__(self, *args: Any, bound: str, **kwargs: Any) -> None:
        self.bound = bound  # "after" or "before"
        super().__init__(*args, **kwargs)

    def value_errors(
        self, value: str, *, filterset: filters.FilterSet
    ) -> list[ValidationError]:
        """Say whether `value` is a date or a date-time (CheckedFilterSet asks)."""
        raw = value.strip()
        if (
            _parse_or_none(parse_datetime, raw) is None
            and _parse_or_none(parse_date, raw) is None
        ):
            return [ValidationError(NOT_A_DATE, params={"value": repr(raw)})]
        return []

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        if not value:
            return qs
        value = value.strip()
        # A bare date first: parse_datetime also accepts "2026-01-31" (as
        # midnight), which would make `created_before` exclude the day itself.
        day = _parse_or_none(parse_date, value)
        if day is not None:
            moment = dt.datetime.combine(day, dt.time.min)
            if self.bound == "before":
                if day == dt.date.max:
                    return qs  # "until the end of time": nothing to exclude
                moment += dt.timedelta(days=1)
        else:
            moment = _parse_or_none(parse_datetime, value)
            if moment is None:
                raise ValidationError(NOT_A_DATE, params={"value": repr(value)})
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, dt.UTC)
        # In UTC before it reaches the database: PostgreSQL refuses offsets
        # beyond +/-15:59 that Python (and ISO 8601 parsers) accept.
        moment = moment.astimezone(dt.UTC)
        lookup = "gte" if self.bound == "after" else "lt"
        return qs.filter(**{f"{self.field_name}__{lookup}": moment})


def _parse_or_none(parse: Any, value: str) -> Any:
    # Django's parsers raise ValueError for well-formed but impossible values
    # ("2026-13-45"), and a date-time at the edge of year 1 overflows when the
    # database converts it to UTC; for a filter both are just invalid values.
    try:
        parsed = parse(value)
        if isinstance(parsed, dt.datetime) and timezone.is_aware(parsed):
            parsed.astimezone(dt.UTC)
        return parsed
    except (ValueError, OverflowError):
        return None


# --- Blank values ---------------------------------------------------------------------
#
# A blank filter value means "unset", on the queue, the API and the CSV alike:
# the queue's form submits its empty fields (`?status=&provider=`), and an
# API client building `status=` + ",".join(wanted) from an empty list means
# no filter, as it would by leaving the parameter out. Whitespace-only values
# and the blank items of a comma-separated list (`status=completed,`) are
# blank too; before, they were refused by some filters, matched nothing in
# others, and `outcome=,` silently meant "no outcome yet".

BLANK_IS_UNSET = "Blank (`{name}=`, or only spaces) means unset: not filtered."
BLANK_ITEMS_IGNORED = (
    "Blank (`{name}=`, or only spaces and commas) means unset: not filtered; "
    "blank items of the list are ignored (`{name}=a,` is `{name}=a`)."
)


def filter_is_list(filter_: filters.Filter) -> bool:
    """Whether a filter takes a comma-separated list."""
    return isinstance(filter_, filters.BaseCSVFilter)


def _unblanked(filter_: filters.Filter, value: Any) -> Any:
    """Return `value` without blank list items, or None when it is blank."""
    if not isinstance(value, str):
        return value
    if filter_is_list(filter_):
        items = [item.strip() for item in value.split(",")]
        return ",".join(item for item in items if item) or None
    return value if value.strip() else None


def blank_filters_removed(
    params: QueryDict | Mapping[str, Any], *, filterset_class: type[filters.FilterSet]
) -> QueryDict:
    """Return `params` without the filters set to a blank value, and with the
    blank items of list filters dropped; other parameters are kept as they are."""
    cleaned = QueryDict(mutable=True)
    lists = (
        params.lists()
        if isinstance(params, QueryDict)
        else ((key, [value]) for key, value in params.items())
    )
    for key, values in lists:
        filter_ = filterset_class.base_filters.get(key)
        if filter_ is not None:
            values = [
                v for v in (_unblanked(filter_, v) for v in values) if v is not None
            ]
        if values:
            cleaned.setlist(key, values)
    return cleaned


class BlankIsUnsetFilterSet(filters.FilterSet):
    """A FilterSet for which a blank value leaves its filter unset (see above)."""

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None:
            data = blank_filters_removed(data, filterset_class=type(self))
        super().__init__(data, *args, **kwargs)


# --- Values that must name something ----------------------------------------------------
#
# A filter value is checked once its field has cleaned it: a date must parse, a
# provider slug, username, tag or id must name something that exists. An
# unknown one is a field error, never an empty list that reads as "nothing
# matches" (`provider=nope` would otherwise quietly show no sessions), and
# every error of the request is reported at once: the checks run in the form's
# `clean()`, after every field, whatever the other fields said.

# Values go in as parameters, never into the message (see NOT_A_DATE).
NO_SUCH = "No %(noun)s %(value)s."
NO_SUCH_KNOWN = "No %(noun)s %(value)s; known: %(known)s."


class ReferenceFilterMixin:
    """A filter whose values must name existing things.

    `unknown(values, filterset)` returns the values that name nothing (one
    query); `known()`, when given, lists what may be named (short lists only:
    provider slugs), so the error says what to write instead.
    """

    def __init__(
        self,
        *args: Any,
        noun: str,
        unknown: Callable[[list[str], filters.FilterSet], list[str]],
        known: Callable[[], Sequence[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        self.noun = noun
        self.unknown = unknown
        self.known = known
        super().__init__(*args, **kwargs)

    def value_errors(
        self, value: Any, *, filterset: filters.FilterSet
    ) -> list[ValidationError]:
        values = value if isinstance(value, list | tuple) else [value]
        wanted = [str(v).strip() for v in values if str(v).strip()]
        missing = self.unknown(wanted, filterset) if wanted else []
        if not missing:
            return []
        known = list(self.known()) if self.known else []
        return [
            ValidationError(
                NO_SUCH_KNOWN if known else NO_SUCH,
                params={
                    "noun": self.noun,
                    "value": repr(name),
                    "known": ", ".join(known),
                },
            )
            for name in missing
        ]


class ReferenceCharInFilter(ReferenceFilterMixin, CharInFilter):
    """Comma-separated names (slugs), each of which must exist."""


class ReferenceCharFilter(ReferenceFilterMixin, filters.CharFilter):
    """One name (a username, a tag) that must exist."""


class ReferenceIdFilter(ReferenceFilterMixin, IdFilter):
    """A database id that must exist."""


class CheckedValuesForm(forms.Form):
    """The form of a CheckedFilterSet: its filters' `value_errors` run in
    `clean()`, after every field, so all errors come back together."""

    value_checks: dict[str, Callable[[Any], list[ValidationError]]] = {}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, check in self.value_checks.items():
            value = cleaned.get(name)
            if name in self._errors or value in (None, "", [], ()):
                continue
            for error in check(value):
                self.add_error(name, error)
        return self.cleaned_data


class CheckedFilterSet(BlankIsUnsetFilterSet):
    """A FilterSet whose values are checked by their filters (`value_errors`):
    dates parse, names and ids exist. Invalid values are form errors, so
    `is_valid()`, `errors` and the API's 400 all see them.

    `resolved` keeps what a check looked up (usernames to ids, ...), by filter
    name, so the filter reuses it instead of asking the database again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.resolved: dict[str, Any] = {}
        super().__init__(*args, **kwargs)

    def get_form_class(self) -> type[forms.Form]:
        base = super().get_form_class()
        checks = {
            name: _bound_check(filter_, self)
            for name, filter_ in self.filters.items()
            if hasattr(filter_, "value_errors")
        }
        return type(base.__name__, (CheckedValuesForm, base), {"value_checks": checks})


def _bound_check(
    filter_: Any, filterset: filters.FilterSet
) -> Callable[[Any], list[ValidationError]]:
    def check(value: Any) -> list[ValidationError]:
        return filter_.value_errors(value, filterset=filterset)

    return check
