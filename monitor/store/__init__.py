"""The embedded store: SQLite by default, portable SQL so PostgreSQL can follow."""

from monitor.store.db import Database, open_database

__all__ = ["Database", "open_database"]
