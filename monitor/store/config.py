"""The store's slice of the settings (the app composes it into ``[store]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StoreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        None,
        description="sqlite:///PATH or postgresql://USER@HOST:PORT/DB; default DATA_DIR/monitor.db",
    )
    retention_days: int = Field(90, ge=1)
    lock_timeout: float = Field(10.0, gt=0, description="seconds to wait for another writer")
    heartbeat_seconds: float = Field(10.0, gt=0, description="how often an instance says it lives")
    dead_after_seconds: float = Field(
        30.0, gt=0, description="an instance silent this long is dead: its work is taken over"
    )
    feed_lease_seconds: float = Field(
        300.0, gt=0, description="how long a feed claim holds (renewed while the poll runs)"
    )
