"""``monitor backtest``: rules over the articles already in the store, without alerting."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import click

from monitor.backtest import RuleReport, SurgeBacktest, backtest, bar_chart
from monitor.cli.common import config_options, open_store, settings_from
from monitor.cli.rules_cmds import highlight, safe
from monitor.clock import utcnow
from monitor.models import Article, RuleMatch
from monitor.rules import RuleSet, load_rules
from monitor.store import Store, UnitOfWork
from monitor.surges import Episode, duration_text

PAGE = 1000
SURGE_LISTED = 5  # articles shown per surge in the text report
_SINCE = re.compile(r"^(\d+)([hdw])$")


def parse_since(text: str) -> timedelta:
    found = _SINCE.match(text.strip())
    if not found:
        raise click.BadParameter("use a number and h, d or w, e.g. 30d", param_hint="--since")
    n, unit = int(found[1]), found[2]
    return timedelta(hours=n) if unit == "h" else timedelta(days=n * (7 if unit == "w" else 1))


def _page(uow: UnitOfWork, *, since: datetime, after: tuple[datetime, str] | None
          ) -> list[Article]:  # fmt: skip
    return uow.articles.page(since=since, after=after, limit=PAGE)


def _stored(store: Store, since: datetime) -> Iterator[Article]:
    after: tuple[datetime, str] | None = None
    while True:
        page = store.call(partial(_page, since=since, after=after), write=False)
        yield from page
        if len(page) < PAGE:
            return
        after = (page[-1].published, page[-1].id)


def _load(paths: list[Path], settings_channels: list[str], digests: list[str]) -> RuleSet:
    result = load_rules(paths, channels=settings_channels, digests=digests)
    for diag in result.errors:
        click.echo(str(diag), err=True)
    if result.ruleset is None:
        sys.exit(2)
    return result.ruleset


def _record(article: Article, m: RuleMatch) -> str:
    return json.dumps(
        {"article_id": article.id, "rule_id": m.rule.id, "severity": m.rule.severity,
         "hits": [{"field": h.field, "start": h.start, "end": h.end, "text": h.text,
                   "term": h.term} for h in m.hits],
         "published": article.published.isoformat(), "feed": article.feed},
        ensure_ascii=False,
    )  # fmt: skip


def _surge_record(rule_id: str, episode: Episode, surges: SurgeBacktest) -> str:
    return json.dumps(
        {"rule_id": rule_id,
         "surge": {"start": episode.start.isoformat(), "feeds": list(episode.feeds),
                   "total": len(episode.members),
                   "articles": [{"article_id": a.id, "feed": a.feed, "title": a.title,
                                 "published": a.published.isoformat()}
                                for a in surges.members(episode)]}},
        ensure_ascii=False,
    )  # fmt: skip


def _echo_surges(rules: RuleSet, rule_id: str, surges: SurgeBacktest) -> None:
    """A surge rule's surges: when each started, its feeds, and (some of) its articles."""
    rule = rules.get(rule_id)
    if rule is None or rule.surge is None:
        return
    episodes = surges.episodes.get(rule_id, [])
    within = duration_text(rule.surge.within)
    click.echo(
        f"  surge rule ({rule.surge.sources} feeds within {within}): "
        f"{len(episodes)} surge(s), no alert per article"
    )
    for episode in episodes:
        feeds = ", ".join(safe(f) for f in episode.feeds)
        start = episode.start.strftime("%Y-%m-%d %H:%M %Z")
        click.echo(
            f"  surge at {start}: {len(episode.feeds)} feeds ({feeds}),"
            f" {len(episode.members)} article(s)"
        )
        members = surges.members(episode)
        for article in members[:SURGE_LISTED]:
            click.echo(
                f"      {safe(article.feed)}: {safe(article.title.replace(chr(10), ' ')[:120])}"
            )
        if len(members) > SURGE_LISTED:
            click.echo(f"      … and {len(members) - SURGE_LISTED} more")


@click.command("backtest")
@click.option(
    "--rules", "rule_paths", multiple=True, type=click.Path(),
    help="Rules to try, file or directory (repeatable; default: the active rules).",
)  # fmt: skip
@click.option("--rule", "rule_id", default=None, help="Only this rule.")
@click.option("--since", default="30d", show_default=True, help="How far back: 12h, 30d, 2w.")
@click.option(
    "--json", "as_json", is_flag=True,
    help="One JSON line per (article, rule) match, and one per surge of a surge rule.",
)  # fmt: skip
@config_options
def backtest_cmd(
    rule_paths: tuple[str, ...],
    rule_id: str | None,
    since: str,
    as_json: bool,
    config_path: str | None,
    log_level: str | None,
    log_format: str | None,
) -> None:
    """Run rules over the stored articles and say what they would have matched; no alert.

    With --rules, also compares with the active rule set: which articles a rule would newly
    match or stop matching.
    """
    settings = settings_from(config_path, log_level or "WARNING", log_format)
    window = parse_since(since)
    channels, digests = list(settings.channels), list(settings.digests)
    active = _load(list(settings.rules.paths), channels, digests)
    candidate = _load([Path(p) for p in rule_paths], channels, digests) if rule_paths else active
    if rule_id is not None and rule_id not in {r.id for r in candidate.rules}:
        click.echo(f"monitor: no rule {rule_id!r} in the rules given", err=True)
        sys.exit(2)
    store = open_store(settings)
    reports: dict[str, RuleReport] = {}
    surges = SurgeBacktest(candidate.rules)
    total = 0
    try:
        articles = _stored(store, utcnow() - window)
        compare = active if rule_paths else None
        for hit in backtest(articles, candidate, active=compare, only=rule_id, reports=reports):
            total += 1
            if as_json:
                click.echo(_record(hit.article, hit.match))
            for episode in surges.add(hit):
                if as_json:
                    click.echo(_surge_record(hit.match.rule.id, episode, surges))
    finally:
        store.close()
    if as_json:
        return
    color = sys.stdout.isatty()
    if not reports:
        click.echo(f"no rule matched a stored article in the last {since}")
        return
    for report in sorted(reports.values(), key=lambda r: (-r.matched, r.rule_id)):
        click.echo(f"{report.rule_id} — {safe(report.title)}: {report.matched} article(s)")
        for line in bar_chart(report.by_day):
            click.echo("  " + line)
        _echo_surges(candidate, report.rule_id, surges)
        for article, m in report.samples:
            hits = [h for h in m.hits if h.field == "title"]
            click.echo("  · " + highlight(article.title.replace("\n", " ")[:160], hits, color))
        if rule_paths:
            click.echo(f"  vs the active rules: {report.newly_count} newly, "
                       f"{report.stopped_count} no longer matched")  # fmt: skip
            for article in report.newly:
                click.echo("    + " + safe(article.title.replace("\n", " ")[:120]))
            for article in report.stopped:
                click.echo("    - " + safe(article.title.replace("\n", " ")[:120]))
        click.echo("")


def register(main: click.Group) -> None:
    main.add_command(backtest_cmd)
