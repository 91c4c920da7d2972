"""Statement pieces that read the same on SQLite and PostgreSQL, however many values.

A whole authority's pupils would exceed the drivers' parameter limits as one bind per
value, and a statement whose text changes with the number of values is rendered and
parsed again by SQLAlchemy and the driver on every call. So lists and tables of values
travel as one parameter: an array or a JSON document.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    Connection,
    Date,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    column,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

CHUNK = 500


def upsert(connection: Connection, table: Table) -> Any:
    """An INSERT of the connection's dialect that supports ON CONFLICT (both spell it alike)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """`items` in consecutive slices of at most `size`."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def one_of(connection: Connection, column: Any, values: Iterable[int | str]) -> ColumnElement[bool]:
    """`column IN values`, the values bound as one parameter (an array on PostgreSQL, a
    JSON array read by `json_each` on SQLite), so the statement's text is the same
    whatever their number."""
    items = list(values)
    if connection.dialect.name == "postgresql":
        array = bindparam(None, items, type_=postgresql.ARRAY(column.type))
        return column == any_(array)  # type: ignore[no-any-return]
    listed: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(items)))
    )
    return column.in_(listed.scalar_subquery())  # type: ignore[no-any-return]


def _pg_type(type_: TypeEngine[Any]) -> str:
    if isinstance(type_, Date):
        return "date"
    if isinstance(type_, Integer):
        return "integer"
    if isinstance(type_, String):
        return "text"
    raise TypeError(f"no JSON column of type {type_!r}")


def json_table(
    connection: Connection,
    name: str,
    columns: Mapping[str, TypeEngine[Any]],
    rows: Sequence[Mapping[str, str | int]],
) -> CTE:
    """`rows` (dicts of the columns; dates as ISO strings) as a table, a CTE called
    `name`, from one JSON parameter. `columns` gives each column's type: String,
    Integer or Date."""
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name == "postgresql":
        shape = ", ".join(f"{quote(c)} {_pg_type(t)}" for c, t in columns.items())
        picked = ", ".join(quote(c) for c in columns)
        sql = f"SELECT {picked} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({shape})"
    else:
        picked = ", ".join(f"json_extract(value, '$.{c}') AS {quote(c)}" for c in columns)
        sql = f"SELECT {picked} FROM json_each(:rows)"
    return (
        text(sql)
        .bindparams(rows=json.dumps(list(rows)))
        .columns(*(column(c, t) for c, t in columns.items()))
        .cte(name)
    )
