"""Cron runs claimed in the database, so a digest is built once however many instances run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, select

from monitor.store.sql import insert_ignore
from monitor.store.tables import job_runs


class JobRepo:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, job: str, fire_at: datetime, *, instance: str, now: datetime) -> bool:
        """True for exactly one caller per (job, fire time)."""
        values = {"job": job, "fire_at": fire_at, "instance": instance, "started_at": now}
        return insert_ignore(self._conn, job_runs, values)

    def last_run(self, job: str) -> datetime | None:
        value = self._conn.execute(
            select(func.max(job_runs.c.fire_at)).where(job_runs.c.job == job)
        ).scalar()
        return value if isinstance(value, datetime) else None

    def prune(self, *, before: datetime) -> int:
        """Old claims are kept only long enough to recognise a repeated fire time."""
        keep = (
            select(job_runs.c.job, func.max(job_runs.c.fire_at).label("last"))
            .group_by(job_runs.c.job)
            .subquery()
        )
        latest = select(keep.c.last).where(keep.c.job == job_runs.c.job).scalar_subquery()
        return self._conn.execute(
            delete(job_runs).where(job_runs.c.fire_at < before, job_runs.c.fire_at < latest)
        ).rowcount
