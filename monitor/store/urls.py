"""Store URLs: ``sqlite:///PATH`` (or a bare path) and ``postgresql://USER@HOST:PORT/DB``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from monitor.store.errors import StoreError

Backend = Literal["sqlite", "postgresql"]


@dataclass(frozen=True, slots=True)
class StoreURL:
    backend: Backend
    url: URL  # what SQLAlchemy connects with (driver spelled out)
    path: Path | None = None  # the SQLite file

    @property
    def display(self) -> str:
        """For logs and messages: never the password."""
        if self.path is not None:
            return f"sqlite:///{self.path}"
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)


def parse_store_url(text: str) -> StoreURL:
    if "://" not in text:
        text = "sqlite:///" + text
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise StoreError(f"invalid store url: {exc}", kind="url") from None
    driver = url.drivername.split("+")[0]
    if driver == "sqlite":
        if not url.database or url.database == ":memory:":
            raise StoreError("a sqlite store needs a file: sqlite:///PATH", kind="url")
        path = Path(url.database)
        return StoreURL("sqlite", url.set(drivername="sqlite+pysqlite"), path)
    if driver in ("postgresql", "postgres"):
        return StoreURL("postgresql", url.set(drivername="postgresql+psycopg"))
    raise StoreError(
        f"unsupported store url scheme {url.drivername!r}: use sqlite:///PATH or "
        "postgresql://USER@HOST:PORT/DB",
        kind="url",
    )
