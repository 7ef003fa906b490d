"""Many rows of one model in one INSERT … ON CONFLICT DO NOTHING, at the cost of their values.

Peewee's `insert_many` makes the statement's text value by value, every time: on SQLite that
was 45 of the 48 µs a row of a 500-row chunk of `JobRow` cost (2026-12-07), half of reading a
100,000-row workbook. The text of an INSERT of n rows naming the same columns is the same
every time, so `insert_ignoring` keeps it per database kind and n, made by peewee
(`Query.sql`), and sends only the values, each converted by its field (`Field.db_value`) as
peewee converts it. Every column but the primary key is named, a missing value is the field's
default, so peewee adds no column of its own: a test compares both with peewee's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import peewee

from exmado_tui.store.db import database


def insert_ignoring(model: type[peewee.Model], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (by field name) of `model`; a row that breaks a unique index is left out."""
    if rows:
        database.execute_sql(*statement(model, rows))


def statement(
    model: type[peewee.Model], rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[Any]]:
    """The INSERT of `rows` and its values, as peewee would make them for the database bound."""
    fields = _columns(model)
    sql = _text(model, type(database.obj), len(rows))
    return sql, [_value(f, row) for row in rows for f in fields]


def _columns(model: type[peewee.Model]) -> list[peewee.Field]:
    key = model._meta.primary_key
    return [f for f in model._meta.sorted_fields if f is not key]


# A text a model, database kind and row count: bounded, as callers insert at most 1,000 at once.
_TEXTS: dict[tuple[type[peewee.Model], type[peewee.Database], int], str] = {}


def _text(model: type[peewee.Model], kind: type[peewee.Database], count: int) -> str:
    """The text of an INSERT of `count` rows of `model`, for a database of this `kind`."""
    if (model, kind, count) not in _TEXTS:
        fields = _columns(model)
        blank = tuple(None for _ in fields)
        sql, _ = model.insert_many([blank] * count, fields=fields).on_conflict_ignore().sql()
        _TEXTS[model, kind, count] = str(sql)
    return _TEXTS[model, kind, count]


def _value(field: peewee.Field, row: Mapping[str, Any]) -> Any:
    value = row[field.name] if field.name in row else _default(field)
    return field.db_value(value)


def _default(field: peewee.Field) -> Any:
    return field.default() if callable(field.default) else field.default
