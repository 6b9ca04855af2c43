"""``monitor backtest``: rules over the articles already in the store, without alerting."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import timedelta, tzinfo
from pathlib import Path

import click

from monitor.backtest import (
    Progress,
    RuleReport,
    SurgeBacktest,
    backtest,
    bar_chart,
    stored_articles,
)
from monitor.cli.common import config_options, open_store, settings_from, when, zone
from monitor.cli.rules_cmds import match_record, safe
from monitor.clock import utcnow
from monitor.config import Settings
from monitor.models import Article, Hit, RuleMatch
from monitor.notifiers.snippet import Segment, excerpt, title_segments
from monitor.rules import RuleSet, load_rules
from monitor.store import StoreError
from monitor.surges import Episode, duration_text

SURGE_LISTED = 5  # articles shown per surge in the text report
_SINCE = re.compile(r"(\d{1,6})([hdw])")
MAX_SINCE = timedelta(days=36_600)  # a century: further back is a typo, and overflows dates


def parse_since(text: str) -> timedelta:
    """``12h``, ``30d``, ``2w``: how far back to look; anything else is a usage error."""
    found = _SINCE.fullmatch(text.strip())
    if not found:
        raise click.BadParameter(
            f"{text!r}: use a whole number and h, d or w, e.g. 12h, 30d, 2w", param_hint="--since"
        )
    n, unit = int(found[1]), found[2]
    window = timedelta(hours=n) if unit == "h" else timedelta(days=n * (7 if unit == "w" else 1))
    if not timedelta(0) < window <= MAX_SINCE:
        raise click.BadParameter(
            f"{text!r}: must be more than 0 and at most {MAX_SINCE.days} days",
            param_hint="--since",
        )
    return window


def _load(paths: Sequence[Path], settings: Settings) -> RuleSet | None:
    """The rule set at ``paths``, or None after printing every error as file:line:col."""
    result = load_rules(
        paths,
        channels=list(settings.channels),
        digests=list(settings.digests),
        max_file_bytes=settings.rules.max_file_bytes,
    )
    for diag in result.errors:
        click.echo(str(diag), err=True)
    return result.ruleset


def _record(article: Article, m: RuleMatch) -> str:
    """``monitor match --json``'s record, plus when and where the article was published."""
    record = match_record(article, m)
    record.update(published=article.published.isoformat(), feed=article.feed)
    return json.dumps(record, ensure_ascii=False)


def _render(parts: Sequence[Segment], color: bool) -> str:
    """Segments on one terminal line: hits in reverse video, or between »« without colour."""
    out = []
    for part in parts:
        text = safe(part.text)  # the segments' blanks and line breaks are single spaces
        if part.hit:
            text = click.style(text, reverse=True, bold=True) if color else f"»{text}«"
        out.append(text)
    return "".join(out)


def _sample(article: Article, hits: Sequence[Hit], tz: tzinfo, color: bool) -> list[str]:
    """The title with its hits marked; the excerpt too when no hit is in the title."""
    head = f"{when(article.published, tz)[:10]} {safe(article.feed)} · "
    lines = [head + _render(title_segments(article, hits), color)]
    if not any(h.field == "title" for h in hits) and hits:
        lines.append("      " + _render(excerpt(article, hits, width=200), color))
    return lines


def _plain_title(article: Article) -> str:
    return _render(title_segments(article, ()), False)


def _surge_record(rule_id: str, episode: Episode, surges: SurgeBacktest) -> str:
    return json.dumps(
        {"rule_id": rule_id,
         "surge": {"start": episode.start.isoformat(), "feeds": list(episode.feeds),
                   "total": len(episode.article_ids),
                   "articles": [{"article_id": a.id, "feed": a.feed,
                                 "feeds": list(episode.carriers(a.id)), "title": a.title,
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
            f" {len(episode.article_ids)} article(s)"
        )
        members = surges.members(episode)
        for article in members[:SURGE_LISTED]:
            feeds = ", ".join(safe(f) for f in episode.carriers(article.id))
            click.echo(f"      {feeds}: {safe(article.title.replace(chr(10), ' ')[:120])}")
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

    With --rules, also compares each rule with the active rule of the same id: which
    articles it would newly match or stop matching. Rule errors are printed as
    file:line:column and exit 1, like `monitor rules check`.
    """
    window = parse_since(since)
    settings = settings_from(config_path, log_level or "WARNING", log_format)
    active: RuleSet | None
    if rule_paths:
        candidate = _load([Path(p) for p in rule_paths], settings)
        if candidate is None:
            sys.exit(1)
        with_errors = load_rules(
            list(settings.rules.paths),
            channels=list(settings.channels),
            digests=list(settings.digests),
            max_file_bytes=settings.rules.max_file_bytes,
        )
        active = with_errors.ruleset
        if active is None:
            click.echo(
                f"monitor: the active rules (rules.paths) do not load "
                f"({len(with_errors.errors)} error(s): `monitor rules check`): no comparison",
                err=True,
            )
    else:
        candidate = _load(list(settings.rules.paths), settings)
        if candidate is None:
            sys.exit(1)
        active = None
    if rule_id is not None and candidate.get(rule_id) is None:
        known = ", ".join(r.id for r in candidate.rules[:10])
        more = "…" if len(candidate.rules) > 10 else ""
        raise click.UsageError(f"no rule {rule_id!r} in the rules given (rules: {known}{more})")
    tz = zone(settings)
    start = utcnow() - window
    store = open_store(settings)
    reports: dict[str, RuleReport] = {}
    surges = SurgeBacktest(candidate.rules)
    progress = Progress()
    matches = 0
    try:
        for hit in backtest(
            stored_articles(store, start, sources=surges.sources if surges.counting else None),
            candidate,
            active=None if as_json else active,  # the lines carry no comparison
            only=rule_id,
            reports=reports,
            tz=tz,
            progress=progress,
        ):
            matches += 1
            if as_json:
                click.echo(_record(hit.article, hit.match))
            for episode in surges.add(hit):
                if as_json:
                    click.echo(_surge_record(hit.match.rule.id, episode, surges))
    except StoreError as exc:
        click.echo(f"monitor: {exc}", err=True)
        sys.exit(2)
    finally:
        store.close()
    if as_json:
        return
    color = sys.stdout.isatty()
    tried = 1 if rule_id is not None else len(candidate.rules)
    click.echo(
        f"{progress.articles} stored article(s) published since {when(start, tz)} "
        f"(--since {since}); {tried} rule(s): {matches} match(es) by {len(reports)} rule(s)"
    )
    if not progress.articles:
        return
    for report in sorted(reports.values(), key=lambda r: (-r.matched, r.rule_id)):
        click.echo("")
        click.echo(f"{safe(report.rule_id)} — {safe(report.title)}: {report.matched} article(s)")
        for line in bar_chart(report.by_day):
            click.echo("  " + line)
        _echo_surges(candidate, report.rule_id, surges)
        for article, m in report.samples:
            for line in _sample(article, m.hits, tz, color):
                click.echo("  · " + line if not line.startswith(" ") else line)
        if active is not None:
            click.echo(
                f"  vs the active rules: {report.newly_count} newly, "
                f"{report.stopped_count} no longer matched"
            )
            for article in report.newly:
                click.echo("    + " + _plain_title(article))
            for article in report.stopped:
                click.echo("    - " + _plain_title(article))
    tried_ids = [rule_id] if rule_id is not None else [r.id for r in candidate.rules]
    silent = [i for i in tried_ids if i not in reports]
    if silent:
        shown = ", ".join(safe(i) for i in silent[:20]) + ("…" if len(silent) > 20 else "")
        click.echo(f"\n{len(silent)} rule(s) matched nothing: {shown}")


def register(main: click.Group) -> None:
    main.add_command(backtest_cmd)
