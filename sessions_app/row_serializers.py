"""`many=True` for read-only API rows: DRF's output, built with less work per cell.

DRF's `Serializer.to_representation` resolves, for every cell of every row,
the field's source path, a generic attribute lookup with its exception
handling, and the field class's conversion. For a 29-field session row that
is most of the serialisation of an API page. `RowListSerializer` resolves each
field's reading once per response (`_cell`) and then only walks attributes;
any field or value it does not know exactly goes through DRF's own code, so
the JSON is DRF's (tests compare the two on the same rows).

Use it with `Meta.list_serializer_class = RowListSerializer` on read-only
serializers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from rest_framework import serializers
from rest_framework.fields import SkipField, empty
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

_SKIP = object()

Reader = Callable[[Any], Any]


def _drf_cell(field: serializers.Field) -> Reader:
    """One cell exactly as `Serializer.to_representation` builds it."""

    def read(instance: Any) -> Any:
        try:
            attribute = field.get_attribute(instance)
        except SkipField:
            return _SKIP
        if isinstance(attribute, PKOnlyObject):
            return None if attribute.pk is None else field.to_representation(attribute)
        return None if attribute is None else field.to_representation(attribute)

    return read


def _datetime_converter(field: serializers.DateTimeField) -> Reader | None:
    """`DateTimeField.to_representation` for ISO 8601 output in a fixed zone."""
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if not isinstance(output_format, str) or output_format.lower() != "iso-8601":
        return None
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if zone is None:
        return None

    def iso(value: Any) -> Any:
        # Only an aware datetime is converted here (to the field's zone, "Z"
        # for UTC, as DRF does); anything else is DRF's to represent.
        if not hasattr(value, "astimezone") or value.utcoffset() is None:
            return field.to_representation(value)
        try:
            text = value.astimezone(zone).isoformat()
        except OverflowError:
            return field.to_representation(value)  # DRF's own error
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return iso


def _choice_converter(field: serializers.ChoiceField) -> Reader:
    choices = field.choice_strings_to_values

    def choice(value: Any) -> Any:
        # A plain string, as loaded from the database; an Enum member or
        # anything else goes through DRF.
        if type(value) is not str or value == "":
            return field.to_representation(value)
        return choices.get(value, value)

    return choice


def _converter(field: serializers.Field) -> Reader | None:
    """`field.to_representation` of a value that is not None, for the field
    classes whose conversion is that simple; None for every other field.

    Exact classes only: a subclass may represent values its own way.
    """
    kind = type(field)
    if kind is serializers.CharField:
        return str
    if kind is serializers.IntegerField:
        return int
    if kind is serializers.ReadOnlyField:
        return lambda value: value
    if kind is serializers.ChoiceField:
        return _choice_converter(field)
    if kind is serializers.DateTimeField:
        return _datetime_converter(field)
    return None


def _cell(field: serializers.Field) -> Reader:
    """How one field of every row is read, resolved once per response.

    Whatever is out of the ordinary (a missing attribute or related object, a
    mapping, a callable, a field default) is handed to DRF's own path.
    """
    drf = _drf_cell(field)
    convert = _converter(field)
    attrs = tuple(field.source_attrs)
    if convert is None or not attrs or field.default is not empty:
        return drf

    def read(instance: Any) -> Any:
        value = instance
        try:
            for attr in attrs:
                if isinstance(value, Mapping):
                    return drf(instance)
                value = getattr(value, attr)
        except (AttributeError, KeyError, ObjectDoesNotExist):
            return drf(instance)
        if value is None:
            return None
        if callable(value):
            return drf(instance)
        return convert(value)

    return read


class RowListSerializer(serializers.ListSerializer):
    """A list of read-only rows, represented as DRF would, field readers
    resolved once per response."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        if (
            type(self.child).to_representation
            is not serializers.Serializer.to_representation
        ):
            # A row serializer with its own representation keeps it.
            return super().to_representation(data)
        rows = data.all() if isinstance(data, models.manager.BaseManager) else data
        cells = [
            (field.field_name, _cell(field)) for field in self.child._readable_fields
        ]
        represented = []
        for instance in rows:
            row = {}
            for name, read in cells:
                value = read(instance)
                if value is not _SKIP:
                    row[name] = value
            represented.append(row)
        return represented
