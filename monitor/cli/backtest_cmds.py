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

from monitor.backtest import RuleReport, backtest, bar_chart
from monitor.cli.common import config_options, open_store, settings_from
from monitor.cli.rules_cmds import highlight, safe
from monitor.clock import utcnow
from monitor.models import Article, RuleMatch
from monitor.rules import RuleSet, load_rules
from monitor.store import Store, UnitOfWork

PAGE = 1000
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


@click.command("backtest")
@click.option(
    "--rules", "rule_paths", multiple=True, type=click.Path(),
    help="Rules to try, file or directory (repeatable; default: the active rules).",
)  # fmt: skip
@click.option("--rule", "rule_id", default=None, help="Only this rule.")
@click.option("--since", default="30d", show_default=True, help="How far back: 12h, 30d, 2w.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per (article, rule) match.")
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
    total = 0
    try:
        articles = _stored(store, utcnow() - window)
        compare = active if rule_paths else None
        for hit in backtest(articles, candidate, active=compare, only=rule_id, reports=reports):
            total += 1
            if as_json:
                click.echo(_record(hit.article, hit.match))
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
