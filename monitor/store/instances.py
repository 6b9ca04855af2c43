"""Running instances and their heartbeats: the work of one whose heartbeat stopped is free."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Select, delete, select, update

from monitor.store.sql import insert_ignore
from monitor.store.tables import instances


@dataclass(frozen=True, slots=True)
class InstanceRow:
    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    version: str


def live_instance_ids(now: datetime, dead_after: timedelta) -> Select[tuple[str]]:
    """The instances whose heartbeat is recent enough, as a subquery for claims."""
    return select(instances.c.id).where(instances.c.heartbeat_at > now - dead_after)


def new_instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class InstanceRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def register(self, instance_id: str, *, now: datetime, version: str) -> None:
        host, pid = socket.gethostname(), os.getpid()
        insert_ignore(self._conn, instances, {"id": instance_id, "host": host, "pid": pid,
                                              "started_at": now, "heartbeat_at": now,
                                              "version": version})  # fmt: skip

    def forget_dead_on_this_host(self) -> list[str]:
        """Instances of this host whose process is gone (a crash): their work is free at once."""
        host = socket.gethostname()
        gone = [
            r.id
            for r in self._conn.execute(
                select(instances.c.id, instances.c.pid).where(instances.c.host == host)
            )
            if r.pid != os.getpid() and not _pid_alive(r.pid)
        ]
        if gone:
            self._conn.execute(delete(instances).where(instances.c.id.in_(gone)))
        return gone

    def heartbeat(self, instance_id: str, *, now: datetime) -> bool:
        """False when the row was gone (another instance thought this one dead): re-register."""
        return (
            self._conn.execute(
                update(instances).where(instances.c.id == instance_id).values(heartbeat_at=now)
            ).rowcount
            == 1
        )

    def unregister(self, instance_id: str) -> None:
        self._conn.execute(delete(instances).where(instances.c.id == instance_id))

    def all(self) -> list[InstanceRow]:
        rows = self._conn.execute(select(instances).order_by(instances.c.started_at)).mappings()
        return [InstanceRow(**dict(r)) for r in rows]

    def prune(self, *, before: datetime) -> int:
        """Forget instances silent since ``before`` (long dead; their claims are free anyway)."""
        return self._conn.execute(
            delete(instances).where(instances.c.heartbeat_at < before)
        ).rowcount
