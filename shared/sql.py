"""Statement pieces that read the same on SQLite and PostgreSQL, however many values.

A whole authority's pupils would exceed the drivers' parameter limits as one bind per
value, and a statement whose text changes with the number of values is rendered and
parsed again by SQLAlchemy and the driver on every call. So a list travels as
one parameter and a table of values as one array per column (on SQLite, each as one
JSON document).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    Connection,
    Date,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    cast,
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
        # One text parameter cast by the server: psycopg adapts a list of thousands of
        # UPNs element by element in Python (~1 ms per 1,000).
        literal = _array_literal(items, quoted=not all(isinstance(v, int) for v in items))
        array = cast(bindparam(None, literal, type_=String()), postgresql.ARRAY(column.type))
        return column == any_(array)  # type: ignore[no-any-return]
    listed: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, json.dumps(items)))
    )
    return column.in_(listed.scalar_subquery())  # type: ignore[no-any-return]


def _pg_type(type_: TypeEngine[Any]) -> str:
    if isinstance(type_, Date):
        return "date"
    if isinstance(type_, BigInteger):
        return "bigint"
    if isinstance(type_, Integer):
        return "integer"
    if isinstance(type_, String):
        return "text"
    raise TypeError(f"no column of type {type_!r} in a table of values")


def _json_value(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()  # how SQLite holds a date
    raise TypeError(f"{value!r} is not a value of a table of values")


def _array_literal(values: Sequence[str | int | dt.date], quoted: bool) -> str:
    """A PostgreSQL array literal: sent as text and parsed by the server, at a fraction
    of the cost of the driver adapting a list element by element."""
    if quoted:
        return (
            "{"
            + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
            + "}"
        )
    return "{" + ",".join(map(str, values)) + "}"


def values_table(
    connection: Connection,
    name: str,
    columns: Mapping[str, TypeEngine[Any]],
    rows: Sequence[Sequence[str | int | dt.date]],
) -> CTE:
    """`rows` (tuples in the order of `columns`) as a table, a CTE called `name`.
    `columns` gives each column's type: String, Integer, BigInteger or Date.

    On PostgreSQL each column travels as one array parameter, read back by `unnest`
    (half the cost of one JSON document of the rows); on SQLite the rows travel as
    one JSON array of arrays, read by `json_each`.
    """
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name == "postgresql":
        arrays = ", ".join(
            f"CAST(:{name}_{i} AS {_pg_type(t)}[])" for i, t in enumerate(columns.values())
        )
        names = ", ".join(quote(c) for c in columns)
        stmt = text(f"SELECT * FROM unnest({arrays}) AS {quote(name)}({names})").bindparams(
            **{
                f"{name}_{i}": _array_literal([row[i] for row in rows], isinstance(t, String))
                for i, t in enumerate(columns.values())
            }
        )
    else:
        picked = ", ".join(
            f"json_extract(value, '$[{i}]') AS {quote(c)}" for i, c in enumerate(columns)
        )
        stmt = text(f"SELECT {picked} FROM json_each(:{name})").bindparams(
            **{name: json.dumps(rows, default=_json_value)}
        )
    return stmt.columns(*(column(c, t) for c, t in columns.items())).cte(name)
