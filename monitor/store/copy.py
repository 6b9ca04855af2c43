"""Copy one store into another (SQLite → PostgreSQL, for a team that outgrows one machine)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, insert, select

from monitor.store.engine import WRITE
from monitor.store.errors import StoreError
from monitor.store.tables import metadata
from monitor.store.uow import Store

BATCH = 1000
_SKIP = {"instances"}  # who runs is not data: the target's instances register themselves
_RESET = {"feeds": ("lease_owner", "lease_until"), "outbox": ("claimed_by", "lease_until")}


def copy_store(
    source: Store, target: Store, *, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every table, in batches; the target must hold no articles yet. Returns row counts.

    One transaction on the target: a copy that fails half-way leaves it empty.
    """
    counts: dict[str, int] = {}
    with (
        source.engine.connect() as src,
        target.engine.connect().execution_options(**{WRITE: True}) as dst,
        dst.begin(),
    ):
        tables = [t for t in metadata.sorted_tables if t.name not in _SKIP]
        if dst.execute(select(func.count()).select_from(metadata.tables["articles"])).scalar():
            raise StoreError(f"{target.display_url} already holds articles: copy into an empty "
                             "store", kind="schema")  # fmt: skip
        for table in tables:
            n = 0
            result = src.execution_options(yield_per=BATCH).execute(select(table))
            for part in result.mappings().partitions(BATCH):
                rows = [dict(r) for r in part]
                for column in _RESET.get(table.name, ()):
                    for r in rows:
                        r[column] = None
                dst.execute(insert(table), rows)
                n += len(rows)
                if progress:
                    progress(table.name, n)
            counts[table.name] = n
    return counts
