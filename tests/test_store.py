"""The SQLite store: migrations, feed state, article identity across feeds, pruning."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.models import Alert, Article, Hit, Rule, alert_id
from monitor.store import open_database
from monitor.store.alerts import insert_alert, load_alert
from monitor.store.articles import Seen, prune_articles, upsert_article
from monitor.store.db import StoreError
from monitor.store.feeds import ensure_feed, get_feed, record_poll
from monitor.store.schema import LATEST_VERSION

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def article(**changes: object) -> Article:
    base = Article(
        id="guid-1",
        feed="wire",
        title="Drone attack on a base",
        link="https://news.example/a?utm_source=x",
        published=NOW - timedelta(hours=1),
        summary="Militias launched a drone attack.",
        content="Militias launched a drone attack on U.S. forces.",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_migrations_are_recorded_and_idempotent(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    assert db.version == LATEST_VERSION
    db.close()
    db = open_database(str(tmp_path / "m.db"))
    assert db.version == LATEST_VERSION
    assert db.query_one("PRAGMA journal_mode")[0] == "wal"  # type: ignore[index]
    db.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    db.execute("INSERT INTO schema_version (version) VALUES (999)")
    db.close()
    with pytest.raises(StoreError, match="schema version 999 is newer"):
        open_database(str(tmp_path / "m.db"))


def test_unsupported_store_url() -> None:
    with pytest.raises(StoreError, match="only sqlite:///PATH"):
        open_database("mysql://localhost/x")


def test_transaction_rolls_back_everything_on_error(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    with pytest.raises(RuntimeError), db.transaction() as conn:
        upsert_article(conn, article(), link_key=None, now=NOW)
        raise RuntimeError("crash between statements")
    assert db.query("SELECT * FROM articles") == []
    db.close()


def test_feed_state_survives_a_restart(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    with db.transaction() as conn:
        ensure_feed(conn, "wire", "https://news.example/feed")
        record_poll(
            conn, "wire", now=NOW, status=200, ok=True, error=None,
            next_poll_at=NOW + timedelta(minutes=15), etag='"v1"', last_modified="Wed, 25 Nov 2026",
        )  # fmt: skip
    db.close()
    db = open_database(str(tmp_path / "m.db"))
    state = get_feed(db.conn, "wire")
    assert state is not None
    assert (state.etag, state.last_modified, state.failures) == ('"v1"', "Wed, 25 Nov 2026", 0)
    assert state.last_success_at == NOW
    db.close()


def test_failures_count_up_keep_validators_and_reset_on_success(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    with db.transaction() as conn:
        ensure_feed(conn, "wire", "https://news.example/feed")
        record_poll(
            conn, "wire", now=NOW, status=200, ok=True, error=None, next_poll_at=NOW, etag="e1"
        )
        for _ in range(3):
            record_poll(
                conn, "wire", now=NOW, status=500, ok=False, error="HTTP 500", next_poll_at=NOW
            )
    state = get_feed(db.conn, "wire")
    assert state is not None
    assert (state.failures, state.last_error, state.etag) == (3, "HTTP 500", "e1")
    with db.transaction() as conn:
        record_poll(conn, "wire", now=NOW, status=304, ok=True, error=None, next_poll_at=NOW,
                    keep_validators=True)  # fmt: skip
    state = get_feed(db.conn, "wire")
    assert state is not None
    assert (state.failures, state.last_error, state.etag) == (0, None, "e1")
    db.close()


def test_permanent_redirect_updates_url_and_a_config_edit_starts_afresh(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    with db.transaction() as conn:
        ensure_feed(conn, "wire", "http://old.example/feed")
        record_poll(conn, "wire", now=NOW, status=200, ok=True, error=None, next_poll_at=NOW,
                    etag="e1", new_url="https://new.example/feed")  # fmt: skip
        assert (
            ensure_feed(conn, "wire", "http://old.example/feed").url == "https://new.example/feed"
        )
        state = ensure_feed(conn, "wire", "https://other.example/rss")
    assert (state.url, state.etag) == ("https://other.example/rss", None)
    db.close()


def test_article_identity_across_feeds_and_changes(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    with db.transaction() as conn:
        assert upsert_article(conn, article(), link_key="k", now=NOW) == (Seen.NEW, "guid-1")
        assert upsert_article(conn, article(), link_key="k", now=NOW) == (Seen.KNOWN, "guid-1")
        # Another feed carrying the same story (other guid, same canonical link) is not news.
        other = article(id="guid-elsewhere", feed="aggregator")
        assert upsert_article(conn, other, link_key="k", now=NOW) == (Seen.KNOWN, "guid-1")
        edited = article(content="Militias launched a rocket attack on U.S. forces.")
        assert upsert_article(conn, edited, link_key="k", now=NOW) == (Seen.CHANGED, "guid-1")
    feeds = [r[0] for r in db.query("SELECT feed FROM article_sources ORDER BY feed")]
    assert feeds == ["aggregator", "wire"]
    assert db.query_one("SELECT content FROM articles")[0].startswith("Militias launched a rocket")  # type: ignore[index]
    db.close()


def _alert(a: Article) -> Alert:
    rule = Rule(id="r1", title="Drone attacks", severity="high", query="drone*")
    hit = Hit(field="title", start=0, end=5, text="Drone", term="drone*")
    return Alert(id=alert_id("r1", a.id), rule=rule, article=a, hits=(hit,), created_at=NOW)


def test_alerts_are_unique_per_rule_and_article_and_load_back(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    a = article()
    with db.transaction() as conn:
        upsert_article(conn, a, link_key=None, now=NOW)
        upsert_article(conn, replace(a, feed="mirror"), link_key=None, now=NOW)
        assert insert_alert(conn, _alert(a)) is True
        assert insert_alert(conn, _alert(a)) is False
        loaded = load_alert(conn, _alert(a).id)
    assert loaded is not None
    assert loaded.rule.title == "Drone attacks"
    assert loaded.article.title == a.title
    assert loaded.hits[0].text == "Drone"
    assert loaded.other_feeds == ("mirror",)
    db.close()


def test_prune_forgets_old_articles_but_keeps_pending_deliveries(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    old, kept = article(id="old"), article(id="pending", link="https://news.example/p")
    with db.transaction() as conn:
        for a in (old, kept):
            upsert_article(conn, a, link_key=a.id, now=NOW - timedelta(days=100))
            insert_alert(conn, _alert(a))
        conn.execute(
            "INSERT INTO outbox (id, alert_id, channel, status, next_attempt_at, created_at)"
            " VALUES ('o1', ?, 'console', 'pending', '', '')",
            (_alert(kept).id,),
        )
        upsert_article(conn, article(id="fresh", link=None), link_key=None, now=NOW)
        assert prune_articles(conn, before=NOW - timedelta(days=90)) == 1
    ids = sorted(r[0] for r in db.query("SELECT id FROM articles"))
    assert ids == ["fresh", "pending"]
    assert [r[0] for r in db.query("SELECT article_id FROM alerts")] == ["pending"]
    db.close()


def test_store_file_is_plain_sqlite(tmp_path: Path) -> None:
    db = open_database(str(tmp_path / "m.db"))
    db.close()
    tables = {r[0] for r in sqlite3.connect(tmp_path / "m.db").execute(
        "SELECT name FROM sqlite_master WHERE type='table'")}  # fmt: skip
    assert {"feeds", "articles", "article_sources", "matches", "alerts", "outbox"} <= tables
