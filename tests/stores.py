"""Real stores for the tests: SQLite files, and PostgreSQL on 127.0.0.1:5432.

A PostgreSQL database is created for the test run and dropped after it; each test gets a
fresh schema in it. Without a reachable server the PostgreSQL tests fail when ``CI`` is set
and skip, saying why, otherwise.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from sqlalchemy import text

from monitor.store import Store, open_store

ADMIN_URL = os.environ.get("MONITOR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The URL of a database made for this test run (dropped at the end)."""
    name = f"monitor_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = psycopg.connect(_conninfo(ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL is not reachable at {ADMIN_URL}: {exc}".strip()
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (set CI to make this a failure)")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(_conninfo(ADMIN_URL), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_database: str) -> Iterator[str]:
    """A fresh, empty schema of the run's database, as a store URL."""
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(_conninfo(pg_database), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{pg_database}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(_conninfo(pg_database), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


def rows(store: Store, sql: str, params: dict[str, Any] | None = None) -> list[Sequence[Any]]:
    """Plain SQL for assertions (the same text on both backends)."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params or {})]


def row_dicts(store: Store, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params or {}).mappings()]


def execute(store: Store, sql: str, params: dict[str, Any] | None = None) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params or {})
