"""The stories' slice of the settings (the app composes it into ``[stories]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Chosen on real articles by benchmarks/stories_bench.py (README, Performance).
DEFAULT_SIMILARITY = 0.4


class StoriesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="fold near-duplicate articles into one story")
    window_hours: float = Field(
        24.0,
        gt=0,
        le=366 * 24,  # bounded: the window's start must stay a date
        description="a copy joins a story first seen at most this long ago",
    )
    similarity: float = Field(
        DEFAULT_SIMILARITY,
        gt=0,
        le=1,
        description="estimated Jaccard similarity of title + first paragraph shingles to fold",
    )
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    bands: int | None = Field(
        None, ge=1, description="LSH bands (None: the optimum for similarity and num_perm)"
    )

    update_minutes: float = Field(
        5.0,
        gt=0,
        le=24 * 60,
        description="story updates (channels with story_updates) wait this long, coalesced",
    )

    @model_validator(mode="after")
    def _bands_fit(self) -> StoriesConfig:
        if self.bands is not None and self.bands > self.num_perm:
            raise ValueError(f"bands ({self.bands}) cannot exceed num_perm ({self.num_perm})")
        return self
