"""``monitor backtest`` over a store filled by a real poll of the seed feeds."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.backtest import RuleReport, backtest, changed_rules, stored_articles
from monitor.cli import main
from monitor.cli.backtest_cmds import parse_since
from monitor.clock import utcnow
from monitor.models import Article
from monitor.rules import EntrySpec, RuleSet, RuleSpec, SetSpec, compile_rules
from monitor.store import Store, open_store
from tests.conftest import SEED_ID, SEED_RSS, SEED_TITLE, STARTER_RULES


def test_backtest_reports_per_rule_compares_and_writes_json(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
data_dir = "{tmp_path / "data"}"
[[feeds]]
name = "seed-rss"
url = "{SEED_RSS}"
backfill_hours = -1
[rules]
paths = ["{STARTER_RULES}"]
watch = false
[channels.box]
type = "folder"
path = "{tmp_path / "mail"}"
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    polled = runner.invoke(main, ["poll", "--once", "--config", str(config)])
    assert polled.exit_code == 0, polled.output
    mails = len(list((tmp_path / "mail").glob("*.eml")))

    report = runner.invoke(main, ["backtest", "--since", "3000d", "--config", str(config)])
    assert report.exit_code == 0, report.output
    assert "houthi-missile-intercepts" in report.output and "2023-10-23 █" in report.output
    assert SEED_TITLE[:40] in report.output

    (tmp_path / "try.yaml").write_text(
        "rules:\n  - id: houthi-missile-intercepts\n    title: Narrower\n    severity: low\n"
        "    query: 'Houthi AND nonexistentword'\n"
        "  - id: militia-broad\n    title: Militias\n    severity: low\n    query: militia*\n",
        encoding="utf-8",
    )
    tried = runner.invoke(
        main, ["backtest", "--rules", str(tmp_path / "try.yaml"), "--since", "3000d",
               "--config", str(config)],
    )  # fmt: skip
    assert tried.exit_code == 0, tried.output
    assert "militia-broad — Militias: 1 article(s)" in tried.output
    assert "1 newly" in tried.output  # the broad rule is new
    assert "no longer matched" in tried.output and "- " + SEED_TITLE[:40] in tried.output

    as_json = runner.invoke(
        main, ["backtest", "--json", "--rule", "houthi-missile-intercepts", "--since", "3000d",
               "--config", str(config)],
    )  # fmt: skip
    [line] = as_json.output.strip().splitlines()
    record = json.loads(line)
    assert record["article_id"] == SEED_ID and record["feed"] == "seed-rss"
    assert record["published"].startswith("2023-10-23") and record["hits"]
    assert len(list((tmp_path / "mail").glob("*.eml"))) == mails  # no alert was raised

    bad = runner.invoke(main, ["backtest", "--since", "soon", "--config", str(config)])
    assert bad.exit_code == 2 and "--since" in bad.output


# --- the clauses, one by one --------------------------------------------------------

ACTIVE = """rules:
  - id: drones
    title: Drone attacks
    severity: high
    query: 'drone* NEAR/3 attack*'
  - id: ports
    title: Port closures
    severity: low
    query: 'port NEAR/2 closed'
"""


def _config(tmp_path: Path, rules: Path, *, timezone: str = "UTC") -> Path:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\ntimezone = "{timezone}"\nfeeds = []\n'
        f'[rules]\npaths = ["{rules}"]\nwatch = false\n',
        encoding="utf-8",
    )
    return config


def _store(tmp_path: Path, articles: list[Article]) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'data' / 'monitor.db'}")
    try:
        with store.write() as uow:
            for a in articles:
                uow.articles.upsert(a, link_key=None, now=utcnow())
    finally:
        store.close()


def _article(n: int, title: str, *, hours_ago: float = 2, feed: str = "wire",
             content: str = "") -> Article:  # fmt: skip
    return Article(id=f"a{n}", feed=feed, title=title, link=f"https://news.example/{n}",
                   published=utcnow() - timedelta(hours=hours_ago), content=content)  # fmt: skip


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["backtest", *args], catch_exceptions=False)


@pytest.fixture
def desk(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "active.yaml").write_text(ACTIVE, encoding="utf-8")
    (tmp_path / "data").mkdir()
    _store(tmp_path, [
        _article(1, "A drone attack on the port"),
        _article(2, "Quiet day", content="Officials said the port was closed after a drone attack"
                 "."),
        _article(3, "Markets rally", hours_ago=30),
        _article(4, "Drones attacked a convoy", hours_ago=50, feed="other"),
    ])  # fmt: skip
    return _config(tmp_path, tmp_path / "rules")


def test_json_is_the_match_form_plus_published_and_feed(desk: Path, tmp_path: Path) -> None:
    got = _run("--json", "--config", str(desk))
    assert got.exit_code == 0, got.output
    records = [json.loads(line) for line in got.stdout.splitlines()]
    assert {(r["article_id"], r["rule_id"]) for r in records} == {
        ("a1", "drones"), ("a2", "drones"), ("a2", "ports"), ("a4", "drones")
    }  # fmt: skip
    # The same articles through `monitor match --json`: the same records, without two keys.
    lines = "\n".join(
        json.dumps({"id": a, "title": t, "content": c, "feed": "wire"})
        for a, t, c in [("a2", "Quiet day",
                         "Officials said the port was closed after a drone attack.")]
    )  # fmt: skip
    matched = CliRunner().invoke(
        main, ["match", "--json", "--rules", str(tmp_path / "rules"), "-"], input=lines
    )
    assert matched.exit_code == 0, matched.output
    plain = {r["rule_id"]: r for r in map(json.loads, matched.stdout.splitlines())}
    for record in records:
        if record["article_id"] != "a2":
            continue
        extra = {k: record.pop(k) for k in ("published", "feed")}
        assert record == plain[record["rule_id"]]
        assert extra["feed"] == "wire"
        assert datetime.fromisoformat(extra["published"]).tzinfo is not None


def test_text_output_counts_charts_and_marks_hits(desk: Path) -> None:
    got = _run("--config", str(desk))
    assert got.exit_code == 0, got.output
    out = got.stdout
    assert "4 stored article(s) published since" in out
    assert "2 rule(s): 4 match(es) by 2 rule(s)" in out
    assert "drones — Drone attacks: 3 article(s)" in out
    assert "· A »drone« »attack« on the port" in out  # the title's hits marked
    assert "· Quiet day\n      Officials said the port was closed after a »drone« »attack«." in out
    assert "█" in out
    assert "vs the active rules" not in out  # nothing to compare without --rules
    none = _run("--config", str(desk), "--rule", "ports", "--since", "1h")
    assert none.stdout.endswith("1 rule(s): 0 match(es) by 0 rule(s)\n")  # nothing stored in 1 h
    quiet = _run("--config", str(desk), "--since", "25h", "--rule", "ports")
    assert "ports — Port closures: 1 article(s)" in quiet.stdout


def test_terminal_control_characters_in_stored_text_are_neutralised(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "active.yaml").write_text(ACTIVE, encoding="utf-8")
    (tmp_path / "data").mkdir()
    evil = "\x1b[2J\x1b]0;pwned\x07 drone attack \x1b[31mred\u202e txt"
    _store(tmp_path, [_article(1, evil, feed="feed\x1b[1m"),
                      _article(2, "calm", content=f"{evil} more")])  # fmt: skip
    config = _config(tmp_path, tmp_path / "rules")
    (tmp_path / "try.yaml").write_text(ACTIVE.replace("NEAR/3", "NEAR/9"), encoding="utf-8")
    for args in ([], ["--rules", str(tmp_path / "try.yaml")]):
        got = _run("--config", str(config), *args)
        assert got.exit_code == 0, got.output
        assert "»drone« »attack«" in got.stdout
        for bad in ("\x1b", "\x07", "\u202e"):
            assert bad not in got.stdout, (args, bad)


@pytest.mark.parametrize("since", ["soon", "0d", "-1d", "99999999999d", "1y", "", "1.5d"])
def test_bad_since_is_a_usage_error(desk: Path, since: str) -> None:
    got = _run("--since", since, "--config", str(desk))
    assert got.exit_code == 2, got.output
    assert "--since" in got.output and "Traceback" not in got.output


def test_since_bounds_the_window(desk: Path) -> None:
    got = _run("--since", "24h", "--json", "--config", str(desk))
    assert {json.loads(x)["article_id"] for x in got.stdout.splitlines()} == {"a1", "a2"}
    assert parse_since("2w") == timedelta(days=14) and parse_since(" 12h ") == timedelta(hours=12)


def test_an_empty_store(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "active.yaml").write_text(ACTIVE, encoding="utf-8")
    config = _config(tmp_path, tmp_path / "rules")
    got = _run("--config", str(config))
    assert got.exit_code == 0, got.output
    assert "0 stored article(s) published since" in got.stdout
    assert _run("--json", "--config", str(config)).stdout == ""


def test_a_rule_that_does_not_exist(desk: Path) -> None:
    got = _run("--rule", "nope", "--config", str(desk))
    assert got.exit_code == 2
    assert "no rule 'nope'" in got.output and "drones" in got.output


def test_broken_rules_are_reported_at_file_line_col_and_exit_like_rules_check(
    desk: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "rules:\n  - id: bad\n    title: Bad\n    query: 'drone AND (attack'\n", encoding="utf-8"
    )
    check = CliRunner().invoke(main, ["rules", "check", str(broken)])
    got = _run("--rules", str(broken), "--config", str(desk))
    assert got.exit_code == check.exit_code == 1
    assert re.search(rf"{re.escape(str(broken))}:4:\d+: ", got.stderr), got.stderr
    assert "Traceback" not in got.output
    missing = _run("--rules", str(tmp_path / "nowhere.yaml"), "--config", str(desk))
    assert missing.exit_code == 1 and "nowhere.yaml" in missing.stderr
    # The active rules broken, and no --rules: the same.
    (tmp_path / "rules" / "zz.yaml").write_text(broken.read_text(), encoding="utf-8")
    active = _run("--config", str(desk))
    assert active.exit_code == 1 and "zz.yaml:4:" in active.stderr


def test_only_the_rules_tried_are_compared(desk: Path, tmp_path: Path) -> None:
    tried = tmp_path / "try.yaml"
    tried.write_text(
        "rules:\n  - id: ports\n    title: Ports, wider\n    severity: low\n    query: 'port'\n"
        "  - id: zebras\n    title: Zebras\n    query: zebra\n",
        encoding="utf-8",
    )
    got = _run("--rules", str(tried), "--config", str(desk))
    assert got.exit_code == 0, got.output
    assert "ports — Ports, wider: 2 article(s)" in got.stdout
    assert "1 newly, 0 no longer matched" in got.stdout
    assert "+ A drone attack on the port" in got.stdout
    assert got.stdout.endswith("\n1 rule(s) matched nothing: zebras\n")
    # drones is active but not tried: it does not "stop matching" anything.
    assert "drones" not in got.stdout
    same = _run("--rules", str(tmp_path / "rules"), "--config", str(desk))
    assert same.stdout.count("0 newly, 0 no longer matched") == 2


def test_days_are_counted_in_the_configured_timezone(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "active.yaml").write_text(ACTIVE, encoding="utf-8")
    (tmp_path / "data").mkdir()
    late = (utcnow() - timedelta(days=2)).replace(hour=23, minute=30)
    _store(tmp_path, [replace(_article(1, "drone attack"), published=late)])
    utc = _run("--config", str(_config(tmp_path, tmp_path / "rules")))
    tokyo = _run("--config", str(_config(tmp_path, tmp_path / "rules", timezone="Asia/Tokyo")))
    assert f"  {late.date().isoformat()} █" in utc.stdout
    assert f"  {(late + timedelta(days=1)).date().isoformat()} █" in tokyo.stdout


def test_stored_articles_page_by_key_on_both_backends(store: Store) -> None:
    """Pages of 3 over ties in publication time: every article once, oldest first, and
    none published before ``since``; the HTML columns are not read."""
    base = datetime(2026, 1, 10, 12, tzinfo=UTC)
    times = [base, base, base, base + timedelta(minutes=1), base - timedelta(days=1)]
    articles = [
        Article(f"id-{i:02d}", "wire", f"title {i}", None, times[i % len(times)],
                content=f"body {i}", content_html=f"<p>body {i}</p>", feed_tags=("wire",))
        for i in range(11)
    ]  # fmt: skip
    with store.write() as uow:
        for a in articles:
            uow.articles.upsert(a, link_key=None, now=base)
    since = base - timedelta(hours=1)
    got = list(stored_articles(store, since, page=3))
    want = sorted((a for a in articles if a.published >= since), key=lambda a: (a.published, a.id))
    assert [a.id for a in got] == [a.id for a in want] and len(got) == 9
    assert all(a.content_html == "" and a.feed_tags == ("wire",) for a in got)
    assert got[0].content == want[0].content and got[0].published == want[0].published
    assert list(stored_articles(store, base + timedelta(hours=1), page=3)) == []


def test_the_readme_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Try a rule on the stored articles") :]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [
        shlex.split(part)
        for line in block.splitlines()
        for part in line.split("#", 1)[0].split("&&")
        if part.strip()
    ]
    assert [c[1] for c in commands] == ["init", "--config", "backtest", "backtest"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MONITOR_DATA_DIR", str(tmp_path / "elsewhere"))
    outputs = []
    for words in commands:
        got = CliRunner().invoke(main, words[1:], catch_exceptions=False)
        assert got.exit_code == 0, (words, got.output)
        outputs.append(got.stdout)
    assert "stored article(s) published since" in outputs[2]
    assert all(json.loads(line)["rule_id"] == "proxy-attacks-on-us-forces"
               for line in outputs[3].splitlines())  # fmt: skip


def _ruleset(sets: dict[str, list[str]], rules: dict[str, str]) -> RuleSet:
    compiled = compile_rules(
        [SetSpec(n, tuple(EntrySpec(e) for e in entries)) for n, entries in sets.items()],
        [RuleSpec(id=i, title=i.title(), query=q) for i, q in rules.items()],
        lint=False,
    ).ruleset
    assert compiled is not None
    return compiled


def test_the_core_compares_only_changed_rules_with_their_active_versions() -> None:
    who = {"who": ["militia", "Houthi*"]}
    active = _ruleset(who, {"a": "@who AND drone*", "b": "port NEAR/2 closed", "c": "rally"})
    edited = _ruleset(who, {"a": "@who AND (drone* OR rocket*)", "b": "port NEAR/2 closed"})
    assert changed_rules(edited, active) == {"a"}
    assert changed_rules(active, active) == frozenset()
    new_set = _ruleset({"who": ["militia"]}, {"a": "@who AND drone*", "b": "port NEAR/2 closed"})
    assert changed_rules(new_set, active) == {"a", "b"}  # a set changed: every rule may differ
    articles = [
        _article(1, "Houthis fire rockets", content="A militia drone too."),
        _article(2, "Militia rocket attack"),
        _article(3, "The port was closed; markets rally"),
    ]
    reports: dict[str, RuleReport] = {}
    hits = list(backtest(articles, edited, active=active, reports=reports))
    assert sorted((h.article.id, h.match.rule.id) for h in hits) == [
        ("a1", "a"), ("a2", "a"), ("a3", "b")
    ]  # fmt: skip
    a, b = reports["a"], reports["b"]
    assert (a.matched, a.newly_count, a.stopped_count) == (2, 1, 0)
    assert [x.id for x in a.newly] == ["a2"]
    assert (b.matched, b.newly_count, b.stopped_count) == (1, 0, 0)  # unchanged: not compared
    assert "c" not in reports  # active, not tried: it stops matching nothing
    narrower = _ruleset({"who": ["militia", "Houthi*"]}, {"a": "@who AND drone* AND title:drone*"})
    reports = {}
    assert list(backtest(articles, narrower, active=active, reports=reports)) == []
    assert (reports["a"].stopped_count, [x.id for x in reports["a"].stopped]) == (1, ["a1"])
    assert reports["a"].title == "A"


def test_a_store_that_fails_mid_run_is_a_clear_error(desk: Path, tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "data" / "monitor.db") as conn:
        conn.execute("ALTER TABLE articles RENAME TO articles_gone")
    got = CliRunner().invoke(main, ["backtest", "--config", str(desk)])
    assert got.exit_code == 2, got.output
    assert "no such table: articles" in got.stderr
    assert isinstance(got.exception, SystemExit)  # not a traceback
