"""Placing new articles in stories, inside the ingest's unit of work.

An article joins the story of the window whose first copy it resembles most, if enough
(estimated similarity of the signatures; of equals, the oldest), found through shared LSH
band keys; otherwise it starts a story of its own. Two instances placing near-duplicates at
the same moment would both find no story and make two, so a chunk first takes a lock per
band-key stripe — all its articles' stripes, in one round trip and one global order (before
any rule lock) — and copies that can meet share a band key, hence a stripe. (SQLite's single
writer already serialises.)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from monitor.models import Article
from monitor.store import UnitOfWork
from monitor.stories.config import StoriesConfig
from monitor.stories.fingerprint import Fingerprint, Fingerprinter
from monitor.stories.minhash import from_bytes, similarity, to_bytes

# Band keys map onto this many locks: bounded, because PostgreSQL keeps advisory locks in a
# shared table of limited size, and a chunk of 100 new articles has thousands of band keys.
LOCK_STRIPES = 256


class Placed(NamedTuple):
    """Where an article stands: the story it belongs to, and whether it leads it."""

    story_id: str
    leads: bool
    new_source: bool = False  # it joined, from a feed that had not carried the story
    started: bool = False  # it leads a story made just now: no alert can be in it yet


def story_lock(band: int) -> str:
    return f"story-band:{band % LOCK_STRIPES}"


# Called in the ingest's transaction when a copy from a feed new to the story joined it.
OnNewSource = Callable[[UnitOfWork, str, datetime], object]


class StoryFolder:
    """The configured folding: fingerprints and the window."""

    def __init__(self, config: StoriesConfig, *, on_new_source: OnNewSource | None = None) -> None:
        self.config = config
        self._on_new_source = on_new_source
        self.fingerprinter = Fingerprinter(config)
        self.window = timedelta(hours=config.window_hours)

    def place(
        self,
        uow: UnitOfWork,
        articles: Sequence[Article],
        now: datetime,
        *,
        quiet: Collection[str] = (),
    ) -> dict[str, Placed]:
        """The story of each article (stored already, under its stored id); an article too
        short to fingerprint is in none. One already in a story (an edited copy) stays there.

        A ``quiet`` article (its id: a new feed's backfill, or older than the retention)
        joins its story and its feed is a source of it, but its joining is not news: no
        story update is queued for it."""
        placed: dict[str, Placed] = {}
        known = uow.stories.stories_of([a.id for a in articles])
        fresh: list[tuple[Article, Fingerprint]] = []
        for article in articles:
            if article.id in known:
                story = known[article.id]
                placed[article.id] = Placed(story, leads=story == article.id)
                continue
            fp = self.fingerprinter.of(article)
            if fp is not None:
                fresh.append((article, fp))
        uow.lock_all(story_lock(band) for _a, fp in fresh for band in fp.bands)
        since = now - self.window
        for article, fp in fresh:
            where = placed[article.id] = self._place_one(uow, article, fp, since, now)
            if where.new_source and self._on_new_source is not None and article.id not in quiet:
                self._on_new_source(uow, where.story_id, now)
        return placed

    def carried(self, uow: UnitOfWork, article_id: str, now: datetime) -> None:
        """A feed newly carries a stored article itself (the same guid or canonical link):
        one more outlet for the article's story, told like a copy that joined it."""
        story = uow.stories.stories_of([article_id]).get(article_id)
        if story is not None and self._on_new_source is not None:
            self._on_new_source(uow, story, now)

    def _place_one(
        self, uow: UnitOfWork, article: Article, fp: Fingerprint, since: datetime, now: datetime
    ) -> Placed:
        best: tuple[float, datetime, str] | None = None
        for cand in uow.stories.candidates(fp.bands, since=since):
            lead = from_bytes(cand.signature)
            if len(lead) != len(fp.signature):
                continue  # made under another num_perm: not comparable
            score = similarity(lead, fp.signature)
            if score < self.config.similarity:
                continue
            # the most similar; of equals, the oldest story
            if best is None or (score, -cand.created_at.timestamp()) > (
                best[0],
                -best[1].timestamp(),
            ):
                best = (score, cand.created_at, cand.id)
        if best is None:
            uow.stories.create(
                article_id=article.id, signature=to_bytes(fp.signature), bands=fp.bands, now=now
            )
            return Placed(article.id, leads=True, started=True)
        score, _first_seen, story_id = best
        new_source = article.feed not in uow.stories.feeds(story_id)
        uow.stories.join(article_id=article.id, story_id=story_id, similarity=score, now=now)
        return Placed(story_id, leads=False, new_source=new_source)
