"""The sync's bulk writes: the statements `bulk_create` writes, without its
price per value.

- `keyed_rows_upsert`: mirrored rows by their (connection, external_id)
  key, `bulk_create(update_conflicts=True)`'s INSERT … ON CONFLICT
  (connection_id, external_id) DO UPDATE SET … RETURNING id;
- `rows_insert`: rows without a key of their own (policy assurances, tag
  links, reasons), `bulk_create(ignore_conflicts=…)`'s INSERT.

On PostgreSQL a batch is one JSON text read by `jsonb_to_recordset`
(`_json_records`), or, when a value has no exact JSON form, one array per
column through UNNEST, as Django does. `bulk_create` sends
every value of every row through its field's `pre_save` and
`get_db_prep_save` chain, the compiler's expression checks and a placeholder
each: for a first sync on SQLite that was 85 % of the insert's time (1.00 s
of Python for 0.17 s in SQLite; docs/PERFORMANCE.md, section 1e). Here the
columns, the statement and one converter per column are chosen once per
call:

- a value of the column's plain Python type (`str` for text, `int` for
  integers and foreign keys, `bool`, `float`, an aware `datetime`, a `date`,
  a `dict` or `list` for JSON) goes as it is, or through the database
  backend's own `adapt_*` method, exactly what `get_db_prep_save` ends in;
- any other value (None, a naive datetime, a Decimal, a lazy string) goes
  through the field's `get_db_prep_save` itself, as in `bulk_create`;
- `auto_now` and `auto_now_add` columns are filled by the field's `pre_save`;
- a value that is a database expression (a `DatabaseDefault`, an F()) makes
  the whole call Django's `bulk_create`.

tests/sessions_app/sync/test_bulk_write.py proves they store what
`bulk_create` stores, column by column, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models.constants import OnConflict
from django.db.models.fields import AutoFieldMixin
from psycopg.types.json import Jsonb

from .values import json_dumped

KEY_FIELDS = ("connection", "external_id")
# The largest batch sent as one JSON text (ASCII: characters are bytes).
JSON_BATCH_MAX_CHARS = 64 * 1024 * 1024

Converter = Callable[[Any], Any]


def keyed_rows_upsert(
    model: type[models.Model],
    rows: Sequence[models.Model],
    *,
    update_fields: Sequence[str],
    batch_size: int,
) -> None:
    """Insert `rows`, or update `update_fields` of those whose key exists;
    set every row's primary key. Keys must be unique within `rows`."""
    _write(
        model,
        rows,
        batch_size=batch_size,
        on_conflict=OnConflict.UPDATE,
        update_fields=update_fields,
        unique_fields=KEY_FIELDS,
    )


def rows_insert(
    model: type[models.Model],
    rows: Sequence[models.Model],
    *,
    batch_size: int,
    ignore_conflicts: bool = False,
) -> None:
    """Insert `rows` (skipping those that break a unique constraint when
    `ignore_conflicts`); their primary keys are not read back."""
    _write(
        model,
        rows,
        batch_size=batch_size,
        on_conflict=OnConflict.IGNORE if ignore_conflicts else None,
    )


def _write(
    model: type[models.Model],
    rows: Sequence[models.Model],
    *,
    batch_size: int,
    on_conflict: OnConflict | None,
    update_fields: Sequence[str] = (),
    unique_fields: Sequence[str] = (),
) -> None:
    if batch_size < 1:
        raise ValueError("Batch size must be a positive integer.")
    if not rows:
        return
    db = router.db_for_write(model)
    connection = connections[db]
    opts = model._meta
    fields = [
        f
        for f in opts.concrete_fields
        if not isinstance(f, AutoFieldMixin) and not f.generated
    ]
    readers = [_reader(field) for field in fields]
    converters = [_converter(field, connection) for field in fields]
    value_rows = []
    for row in rows:
        values = []
        for read, convert in zip(readers, converters, strict=True):
            value = read(row)
            if hasattr(value, "resolve_expression"):
                # Expressions are compiled, not bound: Django's own path.
                model.objects.bulk_create(
                    rows,
                    batch_size=batch_size,
                    ignore_conflicts=on_conflict is OnConflict.IGNORE,
                    update_conflicts=on_conflict is OnConflict.UPDATE,
                    unique_fields=list(unique_fields) or None,
                    update_fields=list(update_fields) or None,
                )
                return
            values.append(convert(value))
        value_rows.append(values)

    ops = connection.ops
    quote = ops.quote_name
    conflict = ops.on_conflict_suffix_sql(
        fields,
        on_conflict,
        [opts.get_field(name).column for name in update_fields],
        [opts.get_field(name).column for name in unique_fields],
    )
    returning = on_conflict is OnConflict.UPDATE
    # The ids come back with their keys: no reliance on the order of the rows
    # RETURNING gives (SQLite does not promise one).
    key_fields = [opts.get_field(name) for name in unique_fields]
    key_positions = [fields.index(f) for f in key_fields]
    returning_sql, returning_params = (
        ops.returning_columns([opts.pk, *key_fields]) if returning else ("", ())
    )
    head = (
        f"{ops.insert_statement(on_conflict=on_conflict)} {quote(opts.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
    )
    unnest_types = _unnest_types(fields, connection)
    has_json = any(
        type(f.target_field if f.is_relation else f) is models.JSONField for f in fields
    )
    size = max(1, min(batch_size, ops.bulk_batch_size(fields, rows) or batch_size))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch_values = value_rows[start : start + size]
            records = (
                _json_records(batch_values, spliced=has_json)
                if unnest_types and len(batch_values) > 1
                else None
            )
            if records is not None:
                source, params = _recordset_source(unnest_types, records)
            elif unnest_types and len(batch_values) > 1:
                # One array per column: PostgreSQL plans it once, whatever
                # the number of rows (Django's own choice for bulk inserts).
                arrays = ", ".join(f"(%s)::{t}[]" for t in unnest_types)
                source = f"SELECT * FROM UNNEST({arrays})"  # noqa: S608 - types, not values
                params = [list(column) for column in zip(*batch_values, strict=True)]
            else:
                row_sql = "({})".format(", ".join(["%s"] * len(fields)))
                source = "VALUES " + ", ".join([row_sql] * len(batch_values))
                params = [value for values in batch_values for value in values]
            cursor.execute(
                f"{head}{source} {conflict or ''} {returning_sql}",
                [*params, *(returning_params or ())],
            )
            batch = rows[start : start + size]
            if not returning:
                for row in batch:
                    row._state.adding = False
                    row._state.db = db
                continue
            ids = {
                tuple(key): pk
                for pk, *key in ops.fetch_returned_rows(cursor, returning_params)
            }
            for row, values in zip(batch, batch_values, strict=True):
                # The key as it was bound (an int id given as text: as text).
                key = tuple(values[i] for i in key_positions)
                if key not in ids:
                    raise RuntimeError(
                        f"{opts.label}: the upsert returned no id for {key}"
                    )
                row.pk = ids[key]
                row._state.adding = False
                row._state.db = db


def _json_records(
    batch_values: Sequence[Sequence[Any]], *, spliced: bool = False
) -> str | None:
    """The rows as one JSON array of objects keyed by column position, or
    None when a value has no exact JSON form (the arrays then carry them).

    psycopg binds every array element through Python, escaping each string
    (a regular expression per value): 40 % of a first sync's engine time on
    PostgreSQL (docs/PERFORMANCE.md, section 1f). One JSON text is one
    escaped string; PostgreSQL parses it. A None is left out (the column
    reads NULL, as Django binds None for a JSON column too); text, numbers
    and booleans are JSON's own; an aware datetime or a date is its ISO
    text, which PostgreSQL reads back to the microsecond; a JSON column's
    value is nested as it is. With `spliced` (a model with JSON columns), a
    JSON value goes in as the text `values.json_dumped` already made of it
    for the checks before the write, instead of being serialised again (half
    of this function's time in a first sync; section 1g).
    """
    keys = [str(position) for position in range(len(batch_values[0]))]
    records: list[Any] = []
    try:
        for values in batch_values:
            record: dict[str, Any] = {}
            nested: list[str] = []
            for key, value in zip(keys, values, strict=True):
                kind = type(value)
                if value is None:
                    continue
                if kind is str or kind is int or kind is float or kind is bool:
                    record[key] = value
                elif kind is dt.datetime or kind is dt.date:
                    record[key] = value.isoformat()
                elif kind is Jsonb and value.dumps in (None, json.dumps):
                    if spliced:
                        nested.append(f'"{key}":{_json_text(value.obj)}')
                    else:
                        record[key] = value.obj
                elif isinstance(value, str | int | float):
                    # Subclasses too (a TextChoices member): JSON writes their
                    # value, as psycopg binds it; True and False stay booleans.
                    record[key] = value
                else:  # a Decimal, a UUID, a JSON value with its own encoder...
                    return None
            if not spliced:
                records.append(record)
                continue
            head = json.dumps(record, allow_nan=False, separators=(",", ":"))
            if nested:
                head = f"{head[:-1]}{',' if record else ''}{','.join(nested)}}}"
            records.append(head)
        text = (
            f"[{','.join(records)}]"
            if spliced
            else json.dumps(records, allow_nan=False, separators=(",", ":"))
        )
    except ValueError:  # NaN or infinity: no JSON form
        return None
    # jsonb holds at most 256 MB; payloads that large go a column at a time.
    return text if len(text) <= JSON_BATCH_MAX_CHARS else None


def _json_text(value: Any) -> str:
    """A JSON column's value as JSON text; ValueError if it has no exact form."""
    text = json_dumped(value)
    if "NaN" in text or "Infinity" in text:
        # Perhaps a NaN (`json.dumps` writes it): the strict serialisation decides.
        text = json.dumps(value, allow_nan=False)
    return text


def _recordset_source(types: Sequence[str], records: str) -> tuple[str, list[Any]]:
    columns = ", ".join(f'"{n}" {t}' for n, t in enumerate(types))
    selected = ", ".join(f'"{n}"' for n in range(len(types)))
    return (
        f"SELECT {selected} FROM jsonb_to_recordset(%s::jsonb) AS x({columns})",  # noqa: S608 - positions and types, not values
        [records],
    )


def _reader(field: models.Field) -> Callable[[models.Model], Any]:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda row: field.pre_save(row, True)
    attname = field.attname
    if not field.many_to_one:
        return lambda row: getattr(row, attname)

    def related_id(row: models.Model) -> Any:
        # A related object assigned before it was saved: its id now, or the
        # refusal `bulk_create` gives (never a silent NULL).
        value = getattr(row, attname)
        if value is None and field.is_cached(row):
            related = field.get_cached_value(row)
            if related is not None:
                if related.pk is None:
                    raise ValueError(
                        f"{type(row).__name__}.{field.name} is an unsaved object."
                    )
                value = related.pk
                setattr(row, attname, value)
        return value

    return related_id


# Django's own field classes, and the Python type whose values they bind as
# they are. A subclass may convert differently: it takes Django's path.
PLAIN_TYPES: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.URLField: str,
    models.SlugField: str,
    models.EmailField: str,
    models.BooleanField: bool,
    models.FloatField: float,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
    models.SmallAutoField: int,
}
RELATIONS = (models.ForeignKey, models.OneToOneField)


def _converter(field: models.Field, connection: Any) -> Converter:
    """One column's value → its database parameter (see the module's doc)."""
    ops = connection.ops

    def django(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    if field.is_relation and type(field) not in RELATIONS:
        return django
    target = field.target_field if field.is_relation else field
    kind = type(target)
    if kind is models.JSONField:
        encoder = target.encoder
        # Django's own text (`json.dumps(value)`), shared with the checks
        # that already serialised the payload (`values.json_dumps_shared`).
        adapt = (
            json_dumped
            if encoder is None
            and type(ops).adapt_json_value is BaseDatabaseOperations.adapt_json_value
            else functools.partial(ops.adapt_json_value, encoder=encoder)
        )

        def json_value(value: Any) -> Any:
            if type(value) is dict or type(value) is list:
                return adapt(value)
            return django(value)

        return json_value
    if kind is models.DateTimeField:

        def datetime_value(value: Any) -> Any:
            if type(value) is dt.datetime and value.utcoffset() is not None:
                return ops.adapt_datetimefield_value(value)
            return django(value)

        return datetime_value
    if kind is models.DateField:

        def date_value(value: Any) -> Any:
            if type(value) is dt.date:
                return ops.adapt_datefield_value(value)
            return django(value)

        return date_value
    plain = PLAIN_TYPES.get(kind)
    if plain is None:
        return django

    def plain_value(value: Any) -> Any:
        return value if type(value) is plain else django(value)

    return plain_value


def _unnest_types(fields: Sequence[models.Field], connection: Any) -> list[str]:
    """PostgreSQL's array types for an UNNEST insert, or [] where Django would
    not use one (same conditions as its PostgreSQL insert compiler)."""
    if connection.vendor != "postgresql":
        return []
    types = []
    for field in fields:
        target = field.target_field if field.is_relation else field
        if (
            hasattr(field, "get_placeholder_sql")
            or hasattr(field, "get_placeholder")
            or target.get_internal_type() not in connection.data_types
        ):
            return []
        # Without the length: no truncation (varchar[], not varchar(50)[]).
        types.append(field.db_type(connection).split("(")[0])
    return types
