"""Analyst tools for watch rules: ``rules check|test|stats``, ``match`` and ``explain``."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click

from monitor.cli.common import effective_config
from monitor.config import ConfigError, Settings, load_settings
from monitor.models import FIELDS, SEVERITIES, Article, Hit, RuleMatch, Surge
from monitor.rules import LoadResult, RuleSet, load_rules
from monitor.rules.articles import ArticleError, read_articles
from monitor.rules.nodes import ExplainNode
from monitor.surges import Episode, Member, Replay, duration_text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EXPLAIN_SURGE_LISTED = 10  # articles shown per surge

config_option = click.option(
    "--config",
    envvar="MONITOR_CONFIG",
    type=click.Path(dir_okay=False),
    help="Config file (TOML); its rules.paths, channels and digests are used.",
)


def safe(text: str) -> str:
    """Article text made harmless for a terminal: no escape sequences or control characters."""
    return _CONTROL.sub("\ufffd", text)


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(effective_config(config, "config"))  # `monitor --config F rules`
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _load(paths: Sequence[str], config: str | None, *, quiet: bool = False) -> LoadResult:
    """Load the rules at ``paths`` (default: the configured ones), checking channels/digests."""
    settings = _settings(config)
    rule_paths = [Path(p) for p in paths] or list(settings.rules.paths)
    result = load_rules(
        rule_paths, channels=list(settings.channels), digests=list(settings.digests)
    )
    for diag in result.errors:
        click.echo(str(diag), err=True)
    if not quiet:
        for diag in result.warnings:
            click.echo(str(diag), err=True)
    return result


def register(main: click.Group) -> None:
    """Add this module's commands to the ``monitor`` group."""
    main.add_command(rules_group)
    main.add_command(match_cmd)
    main.add_command(explain_cmd)


@click.group("rules")
def rules_group() -> None:
    """Check, test and describe the watch rules."""


@rules_group.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@config_option
def check_cmd(paths: tuple[str, ...], config: str | None) -> None:
    """Report every error (exit 1) and warning (exit 0) in the rule files."""
    result = _load(paths, config)
    if result.ruleset is None:
        click.echo(f"{len(result.errors)} error(s), {len(result.warnings)} warning(s)", err=True)
        sys.exit(1)
    rs = result.ruleset
    surges = sum(1 for r in rs.rules if r.surge is not None)
    click.echo(
        f"ok: {len(rs.rules)} rules"
        + (f" ({surges} alerting on surges)" if surges else "")
        + f", {len(rs.sets)} sets, version {rs.version} ({len(result.warnings)} warning(s))"
    )


@rules_group.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@config_option
def test_cmd(paths: tuple[str, ...], config: str | None) -> None:
    """Run every rule's examples; exit 1 on any failure."""
    result = _load(paths, config, quiet=True)
    if result.ruleset is None:
        sys.exit(1)
    rs = result.ruleset
    total = failed = 0
    for rule in rs.rules:
        for example in rs.examples(rule.id):
            total += 1
            texts = example.field_texts(rule.fields)
            article = Article(
                id=f"example:{rule.id}:{total}",
                feed="-",
                title=texts.get("title", ""),
                link=None,
                published=_EPOCH,
                summary=texts.get("summary", ""),
                content=texts.get("content", ""),
            )
            matched = rs.evaluate(rule.id, article) is not None
            if matched != example.expect:
                failed += 1
                should = (
                    "should match but does not" if example.expect else "should not match but does"
                )
                text = safe(example.describe())
                click.echo(f"{example.where}: rule {rule.id}: example {should}: {text!r}")
    click.echo(f"{total} examples, {failed} failed ({len(rs.rules)} rules, version {rs.version})")
    sys.exit(1 if failed else 0)


@rules_group.command("stats")
@click.argument("paths", nargs=-1, type=click.Path())
@config_option
def stats_cmd(paths: tuple[str, ...], config: str | None) -> None:
    """Rules, sets, terms and the size of the compiled index."""
    result = _load(paths, config, quiet=True)
    if result.ruleset is None:
        sys.exit(1)
    rs = result.ruleset
    stats = rs.stats()
    severities = Counter(r.severity for r in rs.rules)
    by_severity = ", ".join(f"{s} {severities[s]}" for s in SEVERITIES if severities[s])
    rows = [
        ("rule set version", stats.version),
        ("rules", f"{stats.rules}" + (f" ({by_severity})" if by_severity else "")),
        ("sets", f"{stats.sets} ({stats.set_entries} entries)"),
        ("terms (distinct phrases)", str(stats.index.phrases)),
        ("word patterns", str(stats.index.word_patterns)),
        ("trie nodes", str(stats.index.trie_nodes)),
        ("index postings", str(stats.index.postings)),
        ("surge rules", str(sum(1 for r in rs.rules if r.surge is not None))),
        ("warnings", str(len(result.warnings))),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")


@click.command("match")
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(),
    help="Rule file or directory (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per (article, rule) match.")
@config_option
@click.argument("articles", nargs=-1, required=True)
def match_cmd(
    rule_paths: tuple[str, ...], as_json: bool, config: str | None, articles: tuple[str, ...]
) -> None:
    """Match articles (JSON Lines, RSS/Atom or .txt files; - for stdin) against the rules.

    Exit 0 when something matched, 1 when nothing did, 2 on error (like grep).
    """
    try:
        result = _load(rule_paths, config, quiet=True)
    except click.ClickException as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    if result.ruleset is None:
        sys.exit(2)
    rs = result.ruleset
    matched = errors = 0
    for source in articles:
        for item in read_articles(source, sys.stdin):
            if isinstance(item, ArticleError):
                errors += 1
                click.echo(f"error: {safe(str(item))}", err=True)
                continue
            for m in rs.match(item):
                matched += 1
                click.echo(_match_json(item, m) if as_json else _match_line(item, m))
    sys.exit(2 if errors else 0 if matched else 1)


def match_record(article: Article, m: RuleMatch) -> dict[str, object]:
    """One (article, rule) match as ``monitor match --json`` writes it."""
    return {
        "article_id": article.id,
        "rule_id": m.rule.id,
        "severity": m.rule.severity,
        "hits": [
            {"field": h.field, "start": h.start, "end": h.end, "text": h.text, "term": h.term}
            for h in m.hits
        ],
    }


def _match_json(article: Article, m: RuleMatch) -> str:
    return json.dumps(match_record(article, m), ensure_ascii=False)


def _match_line(article: Article, m: RuleMatch) -> str:
    terms = Counter(h.term for h in m.hits)
    summary = ", ".join(f"{t} ×{n}" if n > 1 else t for t, n in terms.most_common(6))
    title = safe(article.title.replace("\n", " "))[:100]
    return f"{safe(article.id)}\t{m.rule.id}\t{m.rule.severity}\t{title}\t[{safe(summary)}]"


@click.command("explain")
@click.option(
    "--rules", "rule_paths", multiple=True, type=click.Path(), help="Rule file or directory."
)
@click.option("--rule", "rule_id", required=True, help="The id of the rule to explain.")
@click.option(
    "--color/--no-color",
    default=None,
    help="Highlight with terminal colours (default: when a terminal).",
)
@config_option
@click.argument("article")
def explain_cmd(
    rule_paths: tuple[str, ...], rule_id: str, color: bool | None, config: str | None, article: str
) -> None:
    """Show why a rule does or does not match an article: the query tree and the hits."""
    result = _load(rule_paths, config, quiet=True)
    if result.ruleset is None:
        sys.exit(2)
    rs = result.ruleset
    if rs.get(rule_id) is None:
        known = ", ".join(r.id for r in rs.rules[:10])
        raise click.UsageError(
            f"no rule {rule_id!r} (rules: {known}{'…' if len(rs.rules) > 10 else ''})"
        )
    items = list(read_articles(article, sys.stdin))
    for item in items:
        if isinstance(item, ArticleError):
            click.echo(f"error: {safe(str(item))}", err=True)
            sys.exit(2)
    if not items:
        click.echo("error: no article found", err=True)
        sys.exit(2)
    use_color = sys.stdout.isatty() if color is None else color
    matched: list[Article] = []
    for i, item in enumerate(items):
        assert isinstance(item, Article)
        if i:
            click.echo("")
        if _explain_one(rs, rule_id, item, use_color):
            matched.append(item)
    rule = rs.get(rule_id)
    if rule is not None and rule.surge is not None:
        click.echo("")
        for line in explain_surge(rule.id, rule.surge, matched):
            click.echo(line)


def explain_surge(rule_id: str, surge: Surge, matched: Sequence[Article]) -> list[str]:
    """What a surge rule would do with the matching articles: replayed in published order
    through the pipeline's own core, so the surges shown are the ones it would raise."""
    within = duration_text(surge.within)
    lines = [
        f"rule {rule_id} is a surge rule: one alert when {surge.sources} distinct feeds carry"
        f" matching articles published within {within} (no alert per article)"
    ]
    replay = Replay({rule_id: surge})
    episodes: list[Episode] = []
    ordered = sorted(matched, key=lambda a: (a.published, a.id))
    for article in ordered:
        episodes.extend(replay.add(rule_id, Member(article.id, article.feed, article.published)))
    feeds = len({a.feed for a in ordered})
    if not episodes:
        lines.append(
            f"these articles would make no surge: {len(ordered)} matching article(s) from"
            f" {feeds} feed(s), never {surge.sources} feeds within {within}"
        )
        return lines
    lines.append(f"these articles would make {len(episodes)} surge(s):")
    titles = {a.id: a.title for a in ordered}
    for episode in episodes:
        start = episode.start.strftime("%Y-%m-%d %H:%M %Z")
        lines.append(
            f"  surge at {start}: {len(episode.feeds)} feeds"
            f" ({', '.join(safe(f) for f in episode.feeds)}),"
            f" {len(episode.article_ids)} article(s)"
        )
        shown = episode.listed(EXPLAIN_SURGE_LISTED)
        for m in shown:
            title = safe(titles[m.article_id].replace("\n", " "))[:100]
            carriers = ", ".join(safe(f) for f in episode.carriers(m.article_id))
            lines.append(f"    {m.published.strftime('%H:%M')} {carriers}: {title}")
        if len(episode.article_ids) > len(shown):
            lines.append(f"    … and {len(episode.article_ids) - len(shown)} more")
    return lines


def _explain_one(rs: RuleSet, rule_id: str, article: Article, color: bool) -> bool:
    """Print why the rule does or does not match; True when it matches."""
    ex = rs.explain(rule_id, article)
    verdict = "MATCHES" if ex.matched else "does not match"
    click.echo(f"rule {ex.rule.id} ({ex.rule.severity}) {verdict} article {safe(article.id)}")
    if not ex.feed_admitted:
        tags = f" (tags: {', '.join(article.feed_tags)})" if article.feed_tags else ""
        click.echo(
            f"feed {safe(article.feed)}{safe(tags)} is not among the rule's feeds:"
            f" {', '.join(ex.rule.feeds)}"
        )
    click.echo(f"query: {ex.rule.query.strip()}")
    for line in render_tree(ex.tree):
        click.echo(_colour_mark(line, color))
    if not ex.hits:
        return ex.matched
    for name in FIELDS:
        field_hits = [h for h in ex.hits if h.field == name]
        if field_hits:
            click.echo(f"\n{name}:")
            click.echo(highlight(article.text(name), field_hits, color))
    return ex.matched


def render_tree(node: ExplainNode, depth: int = 0) -> list[str]:
    """The tree one node a line, indented, each marked ✓ (held) or ✗ (did not)."""
    mark = "✓" if node.value else "✗"
    hits = f"  ({node.hits} hit{'s' if node.hits != 1 else ''})" if node.hits else ""
    lines = [f"{'  ' * depth}{mark} {node.label}{hits}"]
    for child in node.children:
        lines.extend(render_tree(child, depth + 1))
    return lines


def _colour_mark(line: str, color: bool) -> str:
    if not color:
        return line
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    fg = "green" if stripped.startswith("✓") else "red"
    return indent + click.style(stripped[:1], fg=fg, bold=True) + stripped[1:]


def highlight(text: str, hits: Sequence[Hit], color: bool) -> str:
    """The text with each hit shown in reverse video (or between »« without colour)."""
    spans: list[tuple[int, int]] = []
    for h in sorted(hits, key=lambda h: (h.start, -h.end)):
        if spans and h.start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], h.end))
        else:
            spans.append((h.start, h.end))
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(safe(text[pos:start]))
        word = safe(text[start:end])
        out.append(click.style(word, reverse=True, bold=True) if color else f"»{word}«")
        pos = end
    out.append(safe(text[pos:]))
    return "".join(out)
