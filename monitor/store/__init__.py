"""The store: SQLite by default, PostgreSQL for several instances; one port for both.

Domain code uses :class:`Store` and :class:`UnitOfWork` and the repositories' dataclasses;
SQL and backend types stay inside this package.
"""

from monitor.store.errors import StoreBusy, StoreError
from monitor.store.uow import Store, UnitOfWork, open_store

__all__ = ["Store", "StoreBusy", "StoreError", "UnitOfWork", "open_store"]
