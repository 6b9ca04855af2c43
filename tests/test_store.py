"""The store on both backends: migrations, feed state, article identity, leases, edges.

Every test that takes ``store``/``store_url`` runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect

from monitor.models import Alert, Article, Hit, Rule, alert_id
from monitor.store import Store, StoreError, open_store
from monitor.store.articles import Seen
from monitor.store.copy import copy_store
from monitor.store.feeds import PollRecord
from monitor.store.migrate import head_revision
from tests.stores import execute, rows

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LEGACY = Path(__file__).parent / "fixtures" / "legacy_v3.sql"


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


def poll(ok: bool = True, **kw: object) -> PollRecord:
    values: dict[str, object] = {
        "now": NOW,
        "status": 200 if ok else 500,
        "ok": ok,
        "error": None if ok else "HTTP 500",
        "next_poll_at": NOW,
    }
    values.update(kw)  # fmt: skip
    return PollRecord(**values)  # type: ignore[arg-type]


def _alert(a: Article, rule_id: str = "r1") -> Alert:
    rule = Rule(id=rule_id, title="Drone attacks", severity="high", query="drone*")
    hit = Hit(field="title", start=0, end=5, text="Drone", term="drone*")
    return Alert(id=alert_id(rule_id, a.id), rule=rule, article=a, hits=(hit,), created_at=NOW)


# -- schema ---------------------------------------------------------------------------------


def test_migrations_are_recorded_and_idempotent(store_url: str) -> None:
    for _ in range(2):
        s = open_store(store_url)
        assert rows(s, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
        s.close()


def test_sqlite_store_is_wal_and_plain_sqlite(tmp_path: Path) -> None:
    open_store(str(tmp_path / "m.db")).close()
    conn = sqlite3.connect(tmp_path / "m.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"feeds", "articles", "article_sources", "matches", "alerts", "outbox"} <= tables


def test_a_newer_schema_is_refused(store_url: str) -> None:
    s = open_store(store_url)
    execute(s, "UPDATE alembic_version SET version_num = '9999'")
    s.close()
    with pytest.raises(StoreError, match="newer than this monitor knows") as info:
        open_store(store_url)
    assert info.value.kind == "schema"


def test_a_store_from_before_alembic_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY.read_text())
    conn.execute(
        "INSERT INTO feeds (name, url, configured_url, etag, failures, articles_seen)"
        " VALUES ('wire', 'https://x/feed', 'https://x/feed', '\"e1\"', 0, 3)"
    )
    conn.commit()
    conn.close()
    s = open_store(str(path))
    with s.read() as uow:
        state = uow.feeds.get("wire")
    assert state is not None and state.etag == '"e1"' and state.lease_owner is None
    s.close()


def test_unsupported_store_url() -> None:
    with pytest.raises(StoreError, match="unsupported store url scheme") as info:
        open_store("mysql://localhost/x")
    assert info.value.kind == "url"


def test_an_unreachable_postgresql_is_a_clear_error() -> None:
    with pytest.raises(
        StoreError, match=r"cannot connect to postgresql://nobody:\*\*\*@127.0.0.1:9/x: .*refused"
    ):
        open_store("postgresql://nobody:s3cret@127.0.0.1:9/x")


def test_the_password_of_a_store_url_is_never_shown() -> None:
    with pytest.raises(StoreError) as info:
        open_store("postgresql://nobody:s3cret@127.0.0.1:9/x")
    assert "s3cret" not in str(info.value)


# -- the store's edges (regressions) --------------------------------------------------------


def test_a_data_directory_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreError, match="cannot create the store's directory"):
        open_store(str(tmp_path / "file" / "sub" / "m.db"))


def test_an_empty_store_file_is_refused_not_recreated(tmp_path: Path) -> None:
    (tmp_path / "m.db").write_bytes(b"")
    with pytest.raises(StoreError, match="empty file, not a store") as info:
        open_store(str(tmp_path / "m.db"))
    assert info.value.kind == "empty"
    assert (tmp_path / "m.db").stat().st_size == 0  # left as it was


def test_a_damaged_store_file_is_noticed_at_start(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "m.db"))
    with s.write() as uow:
        for i in range(300):
            uow.articles.upsert(article(id=f"a{i}", link=None, content="x" * 500), link_key=None,
                                now=NOW)  # fmt: skip
    s.close()
    data = bytearray((tmp_path / "m.db").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = os.urandom(4096)
    (tmp_path / "m.db").write_bytes(bytes(data))
    for leftover in tmp_path.glob("m.db-*"):
        leftover.unlink()
    with pytest.raises(StoreError) as info:
        open_store(str(tmp_path / "m.db"))
    assert info.value.kind == "corrupt"
    assert "restore it from a backup" in str(info.value)


def test_year_one_dates_round_trip_and_an_old_bad_row_blocks_nothing(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "m.db"))
    zero = datetime(1, 1, 1, tzinfo=UTC)
    with s.write() as uow:
        uow.articles.upsert(article(published=zero), link_key=None, now=NOW)
    assert rows(s, "SELECT published_at FROM articles")[0][0] == "0001-01-01T00:00:00.000000Z"
    # A row as the old store wrote it (unpadded year) still reads, as the epoch.
    execute(s, "UPDATE articles SET published_at = '1-01-01T00:00:00.000000Z'")
    with s.read() as uow:
        assert uow.articles.recent_publish_times("wire", since=zero) == [
            datetime(1970, 1, 1, tzinfo=UTC)
        ]
    s.close()


def test_read_only_commands_read_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.db"
    open_store(str(path)).close()
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # a long ingest in another process
    try:
        reader = open_store(str(path), migrate_schema=False, lock_timeout=0.5)
        with reader.read() as uow:
            assert uow.feeds.all() == []
        with pytest.raises(StoreError, match="locked") as info, reader.write() as uow:
            uow.feeds.ensure("wire", "https://x/feed")
        assert info.value.kind == "locked"
        reader.close()
    finally:
        locker.execute("ROLLBACK")
        locker.close()


async def test_store_work_never_blocks_the_event_loop(store: Store) -> None:
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())

    def slow(uow: object) -> None:
        import time

        time.sleep(0.3)  # a long transaction on the store's thread

    await store.run(slow)  # type: ignore[arg-type]
    stop.set()
    await task
    assert ticks > 50


# -- feeds ---------------------------------------------------------------------------------


def test_feed_state_survives_a_restart(store_url: str) -> None:
    s = open_store(store_url)
    with s.write() as uow:
        uow.feeds.ensure("wire", "https://news.example/feed")
        uow.feeds.record_poll("wire", poll(next_poll_at=NOW + timedelta(minutes=15), etag='"v1"',
                                           last_modified="Wed, 25 Nov 2026"))  # fmt: skip
    s.close()
    s = open_store(store_url)
    with s.read() as uow:
        state = uow.feeds.get("wire")
    assert state is not None
    assert (state.etag, state.last_modified, state.failures) == ('"v1"', "Wed, 25 Nov 2026", 0)
    assert state.last_success_at == NOW and state.first_polled_at == NOW
    assert state.next_poll_at == NOW + timedelta(minutes=15)
    s.close()


def test_failures_count_up_keep_validators_and_reset_on_success(store: Store) -> None:
    with store.write() as uow:
        uow.feeds.ensure("wire", "https://news.example/feed")
        uow.feeds.record_poll("wire", poll(etag="e1"))
        for _ in range(3):
            uow.feeds.record_poll("wire", poll(ok=False))
        state = uow.feeds.get("wire")
        assert state is not None
        assert (state.failures, state.last_error, state.etag) == (3, "HTTP 500", "e1")
        uow.feeds.record_poll("wire", poll(status=304, keep_validators=True))
        state = uow.feeds.get("wire")
    assert state is not None
    assert (state.failures, state.last_error, state.etag) == (0, None, "e1")


def test_permanent_redirect_updates_url_and_a_config_edit_starts_afresh(store: Store) -> None:
    with store.write() as uow:
        uow.feeds.ensure("wire", "http://old.example/feed")
        uow.feeds.record_poll("wire", poll(etag="e1", new_url="https://new.example/feed"))
        assert uow.feeds.ensure("wire", "http://old.example/feed").url == "https://new.example/feed"
        state = uow.feeds.ensure("wire", "https://other.example/rss")
    assert (state.url, state.etag) == ("https://other.example/rss", None)


def test_due_feeds_are_claimed_once_and_a_dead_instances_claim_is_taken_over(
    store: Store,
) -> None:
    names = [f"feed-{i}" for i in range(10)]
    lease, dead_after = timedelta(minutes=5), timedelta(seconds=30)
    with store.write() as uow:
        for n in names:
            uow.feeds.ensure(n, f"https://x/{n}")
        uow.instances.register("a", now=NOW, version="t")
        uow.instances.register("b", now=NOW, version="t")
        got_a = uow.feeds.claim_due(names, owner="a", now=NOW, lease=lease,
                                    dead_after=dead_after, limit=6)  # fmt: skip
        got_b = uow.feeds.claim_due(names, owner="b", now=NOW, lease=lease,
                                    dead_after=dead_after, limit=6)  # fmt: skip
    assert len(got_a) == 6 and len(got_b) == 4
    assert not {s.name for s in got_a} & {s.name for s in got_b}
    with store.write() as uow:  # b polls its feeds; the next poll is in 15 minutes
        for s in got_b:
            uow.feeds.record_poll(s.name, poll(next_poll_at=NOW + timedelta(minutes=15)),
                                  owner="b")  # fmt: skip
        uow.instances.heartbeat("b", now=NOW + timedelta(seconds=40))
        # a stopped beating 40 s ago: its six feeds are b's now; b's own are not due again.
        later = uow.feeds.claim_due(names, owner="b", now=NOW + timedelta(seconds=40),
                                    lease=lease, dead_after=dead_after, limit=10)  # fmt: skip
    assert sorted(s.name for s in later) == sorted(s.name for s in got_a)


def test_claims_from_two_threads_never_overlap(store: Store) -> None:
    names = [f"feed-{i}" for i in range(40)]
    with store.write() as uow:
        for n in names:
            uow.feeds.ensure(n, f"https://x/{n}")
        for owner in ("a", "b", "c"):
            uow.instances.register(owner, now=NOW, version="t")
    got: dict[str, list[str]] = {}

    def claimer(owner: str) -> None:
        mine: list[str] = []
        for _ in range(10):
            mine += [s.name for s in store.call(lambda uow: uow.feeds.claim_due(
                names, owner=owner, now=NOW, lease=timedelta(minutes=5),
                dead_after=timedelta(seconds=30), limit=2))]  # fmt: skip
        got[owner] = mine

    threads = [threading.Thread(target=claimer, args=(o,)) for o in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [n for names_ in got.values() for n in names_]
    assert sorted(claimed) == sorted(names)  # each feed exactly once


# -- articles --------------------------------------------------------------------------------


def test_article_identity_across_feeds_and_changes(store: Store) -> None:
    with store.write() as uow:
        a = uow.articles
        assert a.upsert(article(), link_key="k", now=NOW) == (Seen.NEW, "guid-1", True)
        assert a.upsert(article(), link_key="k", now=NOW) == (Seen.KNOWN, "guid-1", False)
        # Another feed carrying the same story (other guid, same link, same title) is not news,
        # but the feed is new to it (a surge counts it); once.
        other = article(id="guid-elsewhere", feed="aggregator")
        assert a.upsert(other, link_key="k", now=NOW) == (Seen.KNOWN, "guid-1", True)
        assert a.upsert(other, link_key="k", now=NOW) == (Seen.KNOWN, "guid-1", False)
        # The same guid in a third feed.
        mirror = article(feed="mirror")
        assert a.upsert(mirror, link_key="k", now=NOW) == (Seen.KNOWN, "guid-1", True)
        edited = article(content="Militias launched a rocket attack on U.S. forces.")
        assert a.upsert(edited, link_key="k", now=NOW) == (Seen.CHANGED, "guid-1", False)
    feeds = [r[0] for r in rows(store, "SELECT feed FROM article_sources ORDER BY feed")]
    assert feeds == ["aggregator", "mirror", "wire"]
    with store.read() as uow:
        assert uow.articles.sources_of(["guid-1", "gone"]) == {
            "guid-1": ["aggregator", "mirror", "wire"]  # seen at the same time: by name
        }
    assert rows(store, "SELECT content FROM articles")[0][0].startswith(
        "Militias launched a rocket"
    )


def test_different_stories_that_share_a_link_stay_apart(store: Store) -> None:
    """Regression: five guids all linking to the front page became one article."""
    front = "https://publisher.example/"
    with store.write() as uow:
        seen = [
            uow.articles.upsert(
                article(id=f"g{i}", title=f"Story {i}", content=f"Text {i}", link=front),
                link_key=front, now=NOW,
            )
            for i in range(5)
        ]  # fmt: skip
    assert [s.seen for s in seen] == [Seen.NEW] * 5
    assert sorted(r[0] for r in rows(store, "SELECT title FROM articles")) == [
        f"Story {i}" for i in range(5)
    ]


def test_one_feed_cannot_hide_or_rewrite_another_feeds_story(store: Store) -> None:
    """Regression: a feed that published a URL first blinded the monitor to another's story."""
    url = "https://cdn.example/item"
    with store.write() as uow:
        first = uow.articles.upsert(article(id=url, feed="a", link=url), link_key=url, now=NOW)
        # Feed b: a different story whose guid collides with feed a's.
        other = article(id=url, feed="b", title="Another story", content="Other text", link=url)
        second = uow.articles.upsert(other, link_key=url, now=NOW)
    assert first.seen is Seen.NEW and second.seen is Seen.NEW and second.id != first.id
    titles = dict(rows(store, "SELECT feed, title FROM articles"))
    assert titles == {"a": "Drone attack on a base", "b": "Another story"}


def test_an_entry_without_its_own_id_joins_the_story_at_its_link(store: Store) -> None:
    with store.write() as uow:
        uow.articles.upsert(article(), link_key="https://news.example/a", now=NOW)
        joined = uow.articles.upsert(
            article(id="https://news.example/a", feed="agg", title="Other title"),
            link_key="https://news.example/a", now=NOW,
        )  # fmt: skip
    assert joined == (Seen.KNOWN, "guid-1", True)


def test_alerts_are_unique_per_rule_and_article_and_load_back(store: Store) -> None:
    a = article()
    with store.write() as uow:
        uow.articles.upsert(a, link_key=None, now=NOW)
        uow.articles.upsert(replace(a, feed="mirror"), link_key=None, now=NOW)
        assert uow.alerts.insert(_alert(a)) is True
        assert uow.alerts.insert(_alert(a)) is False
        loaded = uow.alerts.load(_alert(a).id)
        recent = uow.alerts.recent()
    assert loaded is not None
    assert loaded.rule.title == "Drone attacks"
    assert loaded.article.title == a.title and loaded.article.published == a.published
    assert loaded.hits[0].text == "Drone"
    assert loaded.other_feeds == ("mirror",)
    assert [r.sources for r in recent] == [("wire", "mirror")]


def test_prune_forgets_old_articles_but_keeps_pending_deliveries(store: Store) -> None:
    old, kept = article(id="old"), article(id="pending", link="https://news.example/p")
    with store.write() as uow:
        for a in (old, kept):
            uow.articles.upsert(a, link_key=a.id, now=NOW - timedelta(days=100))
            uow.alerts.insert(_alert(a))
        uow.outbox.enqueue(channel="console", now=NOW, alert_id=_alert(kept).id)
        uow.articles.upsert(article(id="fresh", link=None), link_key=None, now=NOW)
        assert uow.articles.prune(before=NOW - timedelta(days=90)) == 1
    assert sorted(r[0] for r in rows(store, "SELECT id FROM articles")) == ["fresh", "pending"]
    assert [r[0] for r in rows(store, "SELECT article_id FROM alerts")] == ["pending"]


# -- outbox and instances ------------------------------------------------------------------------


def test_outbox_rows_of_a_crashed_instance_are_due_at_once_after_a_restart(store: Store) -> None:
    """Regression: after SIGKILL every claimed row waited for its 5-minute lease."""
    a = article()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with store.write() as uow:
        uow.articles.upsert(a, link_key=None, now=NOW)
        uow.alerts.insert(_alert(a))
        uow.outbox.enqueue(channel="console", now=NOW, alert_id=_alert(a).id)
        uow.instances.register("crashed", now=NOW, version="t")
    execute(store, f"UPDATE instances SET pid = {dead.pid} WHERE id = 'crashed'")
    lease, dead_after = timedelta(minutes=5), timedelta(seconds=30)
    with store.write() as uow:
        [row] = uow.outbox.claim_due(owner="crashed", now=NOW, lease=lease,
                                     dead_after=dead_after, limit=10)  # fmt: skip
    with store.write() as uow:  # the restart, a second later
        assert uow.instances.forget_dead_on_this_host() == ["crashed"]
        uow.instances.register("restarted", now=NOW, version="t")
        again = uow.outbox.claim_due(owner="restarted", now=NOW + timedelta(seconds=1),
                                     lease=lease, dead_after=dead_after, limit=10)  # fmt: skip
        assert [r.id for r in again] == [row.id] and again[0].attempts == 2
        # The old claim cannot mark the row any more.
        assert uow.outbox.mark_sent(row, now=NOW) is False
        assert uow.outbox.mark_sent(again[0], now=NOW) is True


def test_a_live_instance_keeps_its_lease_while_it_beats(store: Store) -> None:
    a = article()
    lease, dead_after = timedelta(seconds=60), timedelta(seconds=30)
    with store.write() as uow:
        uow.articles.upsert(a, link_key=None, now=NOW)
        uow.alerts.insert(_alert(a))
        uow.outbox.enqueue(channel="console", now=NOW, alert_id=_alert(a).id)
        uow.instances.register("slow", now=NOW, version="t")
        uow.instances.register("other", now=NOW, version="t")
        [row] = uow.outbox.claim_due(owner="slow", now=NOW, lease=lease, dead_after=dead_after,
                                     limit=1)  # fmt: skip
    for t in range(20, 200, 20):  # a slow send, renewed by the heartbeat
        at = NOW + timedelta(seconds=t)
        with store.write() as uow:
            uow.instances.heartbeat("slow", now=at)
            uow.instances.heartbeat("other", now=at)
            uow.outbox.renew_leases("slow", until=at + lease)
            assert uow.outbox.claim_due(owner="other", now=at, lease=lease,
                                        dead_after=dead_after, limit=1) == []  # fmt: skip
    with store.write() as uow:
        assert uow.outbox.mark_sent(row, now=NOW) is True


def test_a_cron_fire_time_is_claimed_once(store: Store) -> None:
    with store.write() as uow:
        assert uow.jobs.claim("digest:morning", NOW, instance="a", now=NOW) is True
        assert uow.jobs.claim("digest:morning", NOW, instance="b", now=NOW) is False
        assert uow.jobs.last_run("digest:morning") == NOW


def test_transaction_rolls_back_everything_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), store.write() as uow:
        uow.articles.upsert(article(), link_key=None, now=NOW)
        raise RuntimeError("crash between statements")
    assert rows(store, "SELECT * FROM articles") == []


def test_copy_a_sqlite_store_into_postgresql(tmp_path: Path, pg_url: str) -> None:
    src = open_store(str(tmp_path / "m.db"))
    a = article()
    with src.write() as uow:
        uow.feeds.ensure("wire", "https://x/feed")
        uow.articles.upsert(a, link_key=None, now=NOW)
        uow.alerts.insert(_alert(a))
        uow.outbox.enqueue(channel="console", now=NOW, alert_id=_alert(a).id)
    dst = open_store(pg_url)
    counts = copy_store(src, dst)
    assert counts["articles"] == 1 and counts["outbox"] == 1 and counts["feeds"] == 1
    with dst.read() as uow:
        loaded = uow.alerts.load(_alert(a).id)
    assert loaded is not None and loaded.article.published == a.published
    with pytest.raises(StoreError, match="already holds articles"):
        copy_store(src, dst)
    src.close()
    dst.close()


def test_the_migrations_build_exactly_the_tables_the_queries_use(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from monitor.store.tables import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        # Alembic does not compare primary keys: a key the queries rely on for ON CONFLICT
        inspector = inspect(conn)
        keys = {
            t.name: inspector.get_pk_constraint(t.name)["constrained_columns"]
            for t in metadata.sorted_tables
        }
    assert diff == []
    assert keys == {t.name: [c.name for c in t.primary_key.columns] for t in metadata.sorted_tables}


def test_surge_members_from_before_0007_are_kept_and_keyed_by_feed(store_url: str) -> None:
    """0007 re-keys ``surge_matches`` by (rule, article, feed); the rows stored are kept."""
    from alembic import command
    from sqlalchemy import create_engine

    from monitor.store.migrate import _config
    from monitor.store.tables import surge_matches

    url = store_url.replace("postgresql://", "postgresql+psycopg://")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006")
            conn.execute(
                insert(surge_matches),
                {"rule_id": "r", "article_id": "a1", "feed": "wire", "published_at": NOW},
            )
    finally:
        engine.dispose()
    s = open_store(store_url)
    try:
        with s.engine.begin() as conn:  # the same article from another feed: a row of its own
            conn.execute(
                insert(surge_matches),
                {"rule_id": "r", "article_id": "a1", "feed": "bbc", "published_at": NOW},
            )
        got = rows(s, "SELECT article_id, feed FROM surge_matches ORDER BY feed")
        assert got == [("a1", "bbc"), ("a1", "wire")]
        with s.read() as uow:
            members = uow.surges.members("r", after=NOW - timedelta(hours=1), until=NOW)
        assert sorted(m.feed for m in members) == ["bbc", "wire"]
        assert rows(s, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    finally:
        s.close()


async def test_a_heartbeat_never_waits_behind_busy_store_threads(tmp_path: Path) -> None:
    """Regression: heartbeats queued behind long ingests, the instance looked dead and its
    feeds were polled again by others (three instances: up to 3 requests per feed)."""
    import time

    store = open_store(str(tmp_path / "m.db"))

    def slow(_uow: object) -> None:
        time.sleep(1.5)

    busy = [asyncio.ensure_future(store.run(slow, write=False)) for _ in range(4)]  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    started = time.monotonic()
    with_store = await store.run(lambda uow: uow.instances.heartbeat("x", now=NOW), control=True)
    assert with_store is False and time.monotonic() - started < 1.0
    await asyncio.gather(*busy)
    store.close()
