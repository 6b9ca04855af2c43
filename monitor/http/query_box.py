"""The status page's query box: a query typed by an analyst, backtested over the last 7 days.

What ``monitor backtest`` says about a rule, for a query that is not yet a rule: how many
stored articles it matches, per day, and samples with the hits marked. The query is
compiled like a rule (with the active rules' sets, so ``@iran`` works); the work runs on a
thread of its own, one query at a time, bounded in time and articles, so a pathological
query cannot stall the daemon, whose event loop only waits for the answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams

from monitor.app import App
from monitor.backtest import (
    Hit,
    Progress,
    RuleReport,
    backtest,
    day_bars,
    sets_of,
    stored_articles,
)
from monitor.clock import utcnow
from monitor.http.status import _env
from monitor.models import FIELDS, Alert, alert_id
from monitor.notifiers.views import AlertView, alert_view, format_local
from monitor.rules import Located, RuleSet, RuleSpec, compile_rules
from monitor.store import Store, StoreError

log = logging.getLogger("monitor.http")

DAYS = 7
MAX_QUERY = 4000  # characters: longer than any rule a desk writes
MAX_FEEDS = 1000  # characters of the feeds box
MAX_SECONDS = 10.0  # of matching a query may take before it stops where it is
MAX_ARTICLES = 200_000
SAMPLES = 10
PAGE = 500
_RULE_ID = "query"


@dataclass(frozen=True, slots=True)
class BoxInput:
    """The form as sent: the query, the fields to search and the feeds (empty: all)."""

    query: str = ""
    fields: tuple[str, ...] = FIELDS
    feeds: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str], fields: Sequence[str]) -> BoxInput:
        return cls(
            query=params.get("q", ""),
            fields=tuple(f for f in FIELDS if f in fields) if fields else FIELDS,
            feeds=params.get("feeds", ""),
        )

    @property
    def feed_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.strip() for f in self.feeds.split(",") if f.strip()))


@dataclass(frozen=True, slots=True)
class QueryProblem:
    """Why a query was not run: the message, and the column (1-based) when it has one."""

    message: str
    column: int | None = None


@dataclass(frozen=True, slots=True)
class DayBar:
    day: date
    count: int
    percent: int  # of the busiest day, for the bar's width


@dataclass(slots=True)
class BoxResult:
    """What the query found over the window: counts, a bar per day, samples (newest first)."""

    matched: int
    scanned: int
    since: datetime
    days: list[DayBar]
    samples: list[AlertView]
    stopped_by: str | None = None  # "time" or "articles": a bound stopped the run
    last_scanned: datetime | None = None


def compile_query(
    box: BoxInput, active: RuleSet
) -> tuple[RuleSet | None, list[QueryProblem], list[str]]:
    """The query as a one-rule set (with the active sets), or the problems, and warnings."""
    if not box.query.strip():
        return None, [QueryProblem("type a query, e.g. drone* NEAR/5 attack*")], []
    if len(box.query) > MAX_QUERY:
        return None, [QueryProblem(
            f"the query is {len(box.query):,} characters long: at most {MAX_QUERY:,}"
        )], []  # fmt: skip
    if len(box.feeds) > MAX_FEEDS:
        return None, [QueryProblem(f"the feeds box holds at most {MAX_FEEDS:,} characters")], []
    if not box.fields:
        return None, [QueryProblem("choose at least one field to search")], []
    spec = RuleSpec(
        id=_RULE_ID,
        title="query",
        query=box.query,
        fields=box.fields,
        feeds=box.feed_list,
        query_where=Located(_RULE_ID, 1, 1),
    )
    result = compile_rules(sets_of(active), [spec], lint=False)
    problems = [QueryProblem(d.message, d.column if d.path == _RULE_ID else None)
                for d in result.errors]  # fmt: skip
    warnings = [f"column {d.column}: {d.message}" if d.path == _RULE_ID else d.message
                for d in result.warnings]  # fmt: skip
    return result.ruleset, problems, warnings


def run_query(
    store: Store,
    ruleset: RuleSet,
    tz: ZoneInfo,
    *,
    now: datetime,
    max_seconds: float = MAX_SECONDS,
    max_articles: int = MAX_ARTICLES,
) -> BoxResult:
    """Backtest the one-rule set over the last :data:`DAYS` days (blocking: run on a thread)."""
    since = now - timedelta(days=DAYS)
    reports: dict[str, RuleReport] = {}
    progress = Progress()
    newest: deque[Hit] = deque(maxlen=SAMPLES)
    for hit in backtest(
        stored_articles(store, since, page=PAGE),
        ruleset,
        reports=reports,
        tz=tz,
        progress=progress,
        deadline=time.monotonic() + max_seconds,
        max_articles=max_articles,
    ):
        newest.append(hit)
    report = reports.get(_RULE_ID)
    by_day = report.by_day if report is not None else None
    today = now.astimezone(tz).date()
    first = since.astimezone(tz).date()
    bars = day_bars(by_day or Counter(), first=first, last=today, width=100)
    return BoxResult(
        matched=report.matched if report is not None else 0,
        scanned=progress.articles,
        since=since,
        days=[DayBar(d, n, length) for d, n, length in bars],
        samples=[_view(h, tz) for h in reversed(newest)],
        stopped_by=progress.stopped_by,
        last_scanned=progress.last,
    )


def _view(hit: Hit, tz: ZoneInfo) -> AlertView:
    """A sample as the status page shows an alert (title and excerpt, hits marked)."""
    a, m = hit.article, hit.match
    return alert_view(Alert(alert_id(m.rule.id, a.id), m.rule, a, m.hits, a.published), tz)


@dataclass(frozen=True, slots=True)
class BoxAnswer:
    """A query's problems and warnings, and its result when it ran."""

    problems: list[QueryProblem]
    warnings: list[str]
    result: BoxResult | None
    status: int = 200  # 400: the query is wrong; 503: the store did not answer


class QueryBox:
    """Compiles and runs one query at a time on a thread of its own; another one meanwhile
    is refused. The box stays busy until the thread is done, even when the request that
    started it has gone."""

    def __init__(self, store: Store, tz: ZoneInfo) -> None:
        self.store = store
        self.tz = tz
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-box")
        self._running = False  # set on the event loop, cleared by the box's thread

    @property
    def busy(self) -> bool:
        return self._running

    async def run(self, form: BoxInput, active: RuleSet) -> BoxAnswer:
        """The query compiled and backtested on the box's thread; check :attr:`busy` first."""
        assert not self._running, "one query at a time"
        self._running = True
        now = utcnow()
        max_seconds, max_articles = MAX_SECONDS, MAX_ARTICLES  # as they are now (tests set them)

        def work() -> BoxAnswer:
            try:
                ruleset, problems, warnings = compile_query(form, active)
                if ruleset is None:
                    return BoxAnswer(problems, warnings, None, 400)
                result = run_query(self.store, ruleset, self.tz, now=now,
                                   max_seconds=max_seconds, max_articles=max_articles)  # fmt: skip
                return BoxAnswer(problems, warnings, result)
            except StoreError as exc:
                log.warning("query box: the store did not answer: %s", exc)
                problem = QueryProblem(f"the store did not answer: {exc}; try again")
                return BoxAnswer([problem], [], None, 503)
            finally:
                self._running = False

        try:
            future = self._executor.submit(work)
        except BaseException:
            self._running = False
            raise
        return await asyncio.wrap_future(future)

    def local(self, value: datetime) -> str:
        return format_local(value, self.tz)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


async def render_query_box(app: App, box: QueryBox, params: QueryParams) -> tuple[str, int]:
    """The box's page for the form's parameters, and its HTTP status.

    A query error is the page with the message and its column (400), never a server error;
    a second query while one runs is refused (429) rather than queued behind it.
    """
    form = BoxInput.of(params, params.getlist("field"))
    answer = BoxAnswer([], [], None)
    code = 200
    if "q" in params:
        if box.busy:
            problem = QueryProblem("another query is running: try again in a few seconds")
            answer, code = BoxAnswer([problem], [], None), 429
        else:
            answer = await box.run(form, app.ruleset)
            code = answer.status
    shown = form.query if len(form.query) <= MAX_QUERY else ""
    return _env.get_template("backtest.html.j2").render(
        form=form,
        query=shown,
        fields=FIELDS,
        problems=answer.problems,
        warnings=answer.warnings,
        result=answer.result,
        days=DAYS,
        max_seconds=MAX_SECONDS,
        max_articles=MAX_ARTICLES,
        max_query=MAX_QUERY,
        max_feeds=MAX_FEEDS,
        local=box.local,
        ruleset_version=app.ruleset.version,
    ), code
