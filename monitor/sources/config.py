"""The sources' slice of the settings: the feeds and how they are fetched."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedConfig(_Strict):
    name: str
    url: str
    interval: int = Field(900, ge=10, description="seconds between polls (adapted within bounds)")
    tags: list[str] = []
    enabled: bool = True
    backfill_hours: float | None = Field(
        None,
        description="first poll: alert on entries this recent (-1: all; None: the fetch default)",
    )


class FetchConfig(_Strict):
    timeout: float = 20.0
    connect_timeout: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    concurrency: int = 20
    per_host: int = 2
    user_agent: str = "news-monitor/0.1 (+https://example.invalid/news-monitor)"
    min_interval: int = 300
    max_interval: int = 6 * 3600
    backoff_max: int = 6 * 3600
    backfill_hours: float = 48.0
    failing_report_after: int = 24 * 3600  # seconds of continuous failure before a feed is flagged
