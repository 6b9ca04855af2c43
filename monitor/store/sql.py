"""Small helpers for statements that differ by backend only in spelling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Select, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert unless the row's key exists; True when this call inserted it.

    The database decides, so two instances inserting the same row cannot both win.
    """
    key = next(iter(table.primary_key.columns))
    stmt = _insert(conn, table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(stmt).first() is not None


def insert_select_ignore(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Select[Any],
    *,
    returning: Sequence[str] = (),
) -> Sequence[Row[Any]]:
    """INSERT … SELECT, skipping the rows whose key exists (the database decides); the
    ``returning`` columns of the rows this call inserted (none asked: an empty list)."""
    stmt = _insert(conn, table).from_select(list(columns), rows).on_conflict_do_nothing()
    if not returning:
        conn.execute(stmt)
        return []
    return conn.execute(stmt.returning(*(table.c[c] for c in returning))).all()


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Sequence[str],
) -> None:
    stmt = _insert(conn, table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key), set_={c: stmt.excluded[c] for c in update}
    )
    conn.execute(stmt)
