"""Surges: when does a rule's volume of matches become one alert (pure; one core for all).

A rule with ``surge: {sources: N, within: W}`` counts, at a published time ``t``, the distinct
feeds that carried its matching articles published in ``(t - W, t]`` — an article that
several feeds carried (the same guid, or the same canonical link) counts for each of them,
as :class:`Member` is one (article, feed). A surge starts when that count
reaches N while the rule is *armed*; the rule is then *firing* — quiet — until the count falls
below N again (re-armed), when the next rise can start another surge.

Published time, not the time the monitor first saw an article, is the clock: a surge means
that feeds carried a story close together, which does not depend on when each feed happened
to be polled, on a monitor that was down for an hour, or on a feed's first poll bringing a
day of articles at once; and backtests and ``explain`` replay the stored times exactly as the
pipeline saw them. The poller clamps absurd (future) publication dates to the fetch time, so
a feed cannot hold the window open by dating its articles ahead.

Between two matches the count can only fall, so it is enough to look at the published times
of matches (the *points*): at a point the count just before it (matches strictly earlier)
says whether the rule was re-armed since, and the count at it whether a surge starts. Articles
arrive out of published order (feeds are polled at different times), so a new match is
evaluated at its own time and at the later points whose window it joins; a late article only
adds to counts, so it can start a surge but never re-arm one. The same :func:`evaluate` serves
the pipeline (over the stored matches, under the rule's lock), backtests and ``explain``
(over a replay, :class:`Replay`).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from monitor.models import Surge

MIN_SOURCES = 2
LISTED = 50  # member articles a surge alert keeps (the total is kept too)


class Source(NamedTuple):
    """An article as one feed carried it: the identity of what a surge counts."""

    article_id: str
    feed: str


class Member(NamedTuple):
    """One feed carrying a matching article of a surge rule, as far as counting is concerned.

    Its identity is (article, feed): the same article carried by three feeds (the same guid,
    or the same canonical link) is three members, one per feed; a feed polled again with the
    same article is the same member. ``published`` is the article's.
    """

    article_id: str
    feed: str
    published: datetime

    @property
    def key(self) -> Source:
        return Source(self.article_id, self.feed)


@dataclass(frozen=True, slots=True)
class SurgeState:
    """Whether the rule is firing (quiet after a surge), and since which published time.

    ``since`` None: armed since ever. Points before ``since`` are history: decided.
    """

    firing: bool = False
    since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Episode:
    """A surge that starts at ``start``: the matches of its window, oldest first."""

    start: datetime
    members: tuple[Member, ...]

    @property
    def feeds(self) -> tuple[str, ...]:
        """The distinct feeds, in the order they first carried the story (by published
        time; the feeds of one article by name)."""
        return tuple(dict.fromkeys(m.feed for m in self.members))

    @property
    def article_ids(self) -> tuple[str, ...]:
        """The distinct articles (an article several feeds carried is one), oldest first."""
        return tuple(dict.fromkeys(m.article_id for m in self.members))

    def carriers(self, article_id: str) -> tuple[str, ...]:
        """The feeds of the window that carried the article, in the order of ``feeds``."""
        return tuple(dict.fromkeys(m.feed for m in self.members if m.article_id == article_id))

    @property
    def trigger(self) -> Member:
        """The match that completed the surge (the last at ``start``)."""
        return self.members[-1]

    def listed(self, limit: int = LISTED) -> tuple[Member, ...]:
        """At most ``limit`` members of distinct articles, oldest first: each feed's first
        article before others (an article several feeds carried is listed once)."""
        firsts: dict[str, Member] = {}
        for m in self.members:
            firsts.setdefault(m.feed, m)
        chosen: list[Member] = []
        taken: set[str] = set()
        for m in (*firsts.values(), *self.members):
            if len(chosen) >= limit:
                break
            if m.article_id not in taken:
                chosen.append(m)
                taken.add(m.article_id)
        return tuple(sorted(chosen, key=_order))


@dataclass(frozen=True, slots=True)
class Outcome:
    state: SurgeState
    episodes: tuple[Episode, ...] = ()


def surge_alert_id(rule_id: str, start: datetime) -> str:
    """Deterministic per (rule, start), so two instances cannot raise the same surge twice."""
    key = f"surge\x00{rule_id}\x00{start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def duration_text(value: timedelta) -> str:
    """A duration as rules write it: the largest unit that divides it (2h, 90m, 1d)."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def needed_span(surge: Surge, new: Iterable[datetime]) -> tuple[datetime, datetime]:
    """The published range ``(lo, hi]`` of matches :func:`evaluate` needs for ``new``."""
    times = list(new)
    return min(times) - 2 * surge.within, max(times) + surge.within


def _order(m: Member) -> tuple[datetime, str, str]:
    return m.published, m.article_id, m.feed


def evaluate(
    surge: Surge, state: SurgeState, known: Iterable[Member], new: Iterable[datetime]
) -> Outcome:
    """The surges that matches published at ``new`` start, and the rule's state after them.

    ``known``: every member of the rule in :func:`needed_span` (the new ones included); a
    member given twice (the same article and feed) counts once.
    """
    members = sorted({(m.article_id, m.feed): m for m in known}.values(), key=_order)
    news = sorted(set(new))
    if not members or not news:
        return Outcome(state)
    times = [m.published for m in members]
    w, n = surge.within, surge.sources
    firing, since = state.firing, state.since
    episodes: list[Episode] = []
    points = _points(times, news, w, since, firing)
    if not points:
        return Outcome(state)
    lo, hi = bisect_right(times, points[0] - w), bisect_left(times, points[0])
    window: Counter[str] = Counter(m.feed for m in members[lo:hi])  # feeds of members[lo:hi]
    # each feed's latest published time before the point (members are in time order)
    latest: dict[str, datetime] = {m.feed: m.published for m in members[:hi]}
    for p in points:
        left, mid, right = bisect_right(times, p - w), bisect_left(times, p), bisect_right(times, p)
        for m in members[hi:mid]:
            window[m.feed] += 1
            latest[m.feed] = m.published
        hi = max(hi, mid)
        for m in members[lo:left]:
            window[m.feed] -= 1
            if not window[m.feed]:
                del window[m.feed]
        lo = max(lo, left)
        if firing:
            if len(window) >= n:
                continue  # the count never fell below N since the surge started
            firing, since = False, _fell_at(latest, w, n, since, p, news[0] - w)
        at_point = {m.feed for m in members[mid:right]}
        if len(window.keys() | at_point) >= n:
            firing, since = True, p
            episodes.append(Episode(p, tuple(members[lo:right])))
    return Outcome(SurgeState(firing, since), tuple(episodes))


def _points(
    times: Sequence[datetime],
    news: Sequence[datetime],
    w: timedelta,
    since: datetime | None,
    firing: bool,
) -> list[datetime]:
    """Distinct match times that a new match can change: in [t, t + W) of a new time t.

    Not before ``since``, nor at it when firing (that surge started there); at it when armed
    (the count fell there, and an article published at that very time may raise it again).
    """
    points: list[datetime] = []
    end = news[-1] + w
    for i in range(bisect_left(times, news[0]), bisect_left(times, end)):
        p = times[i]
        if (i and times[i - 1] == p) or (
            since is not None and (p < since or (firing and p == since))
        ):
            continue
        k = bisect_right(news, p)  # the latest new time at or before p
        if k and p < news[k - 1] + w:
            points.append(p)
    return points


def _fell_at(
    latest: dict[str, datetime],
    w: timedelta,
    n: int,
    since: datetime | None,
    point: datetime,
    floor: datetime,
) -> datetime:
    """When the count fell below N before ``point``: the N-th latest expiry of the feeds' last
    matches. Matches are known from ``floor - W`` on; when fewer than N feeds had one since,
    the count had fallen by ``floor`` — taken as the time, never earlier than the truth (an
    earlier time could let a late article start a second surge inside the first).
    """
    expiries = sorted((t + w for t in latest.values()), reverse=True)
    fell = expiries[n - 1] if len(expiries) >= n else floor
    if since is not None:
        fell = max(fell, since)
    return min(fell, point)


@dataclass(slots=True)
class Replay:
    """Matches of surge rules in published order (a backtest, ``explain``): their surges.

    Keeps, per rule, the matches of the last two windows and the rule's state, and asks
    :func:`evaluate` at each match exactly as the pipeline does.
    """

    surges: dict[str, Surge]
    _known: dict[str, list[Member]] = field(default_factory=dict)
    _state: dict[str, SurgeState] = field(default_factory=dict)

    def add(self, rule_id: str, *members: Member) -> tuple[Episode, ...]:
        """The surges that these members of one article (one per feed that carried it)
        start, evaluated together as the pipeline does a chunk's."""
        if not members:
            return ()
        surge = self.surges[rule_id]
        known = self._known.setdefault(rule_id, [])
        times = [m.published for m in members]
        lo, _ = needed_span(surge, times)
        known[:] = [m for m in known if m.published > lo]
        known.extend(members)
        out = evaluate(surge, self._state.get(rule_id, SurgeState()), known, times)
        self._state[rule_id] = out.state
        return out.episodes
