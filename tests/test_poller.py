"""Polling real feeds from a loopback HTTP server into a real SQLite store."""

from __future__ import annotations

from pathlib import Path

from monitor.app import App
from monitor.store.feeds import FeedState
from tests.conftest import SEED_ID, SEED_RSS, MakeSettings
from tests.servers import Hang, LoopbackServer, Redirect, Static, Status, Stream
from tests.stores import rows

ILLFORMED = Path(__file__).parent / "sources" / "fixtures" / "illformed"
LAST_MODIFIED = "Mon, 23 Oct 2023 14:00:00 GMT"


def seed_route() -> Static:
    return Static(SEED_RSS.read_bytes(), etag='"seed-v1"', last_modified=LAST_MODIFIED)


def count(app: App, sql: str) -> int:
    return int(rows(app.store, sql)[0][0])


def get_feed(app: App, name: str) -> FeedState | None:
    with app.store.read() as uow:
        return uow.feeds.get(name)


async def test_conditional_get_304_creates_nothing_and_survives_a_restart(
    http_server: LoopbackServer, make_settings: MakeSettings
) -> None:
    url = http_server.add("/seed.rss", seed_route())
    settings = make_settings(feeds=[{"name": "seed", "url": url, "backfill_hours": -1}])

    async with App.open(settings) as app:
        first = await app.poller.poll(app.feeds[0])
        assert (first.status, first.new_articles, first.failed) == (200, 9, False)
        assert count(app, "SELECT COUNT(*) FROM articles") == 9
        alerts = count(app, "SELECT COUNT(*) FROM alerts")
        assert alerts > 0

        second = await app.poller.poll(app.feeds[0])
        assert second.not_modified and second.new_articles == 0
        assert http_server.requests_to("/seed.rss")[-1].headers["if-none-match"] == '"seed-v1"'
        assert count(app, "SELECT COUNT(*) FROM articles") == 9
        assert count(app, "SELECT COUNT(*) FROM alerts") == alerts

    async with App.open(settings) as app:  # a restart keeps the validators
        third = await app.poller.poll(app.feeds[0])
        assert third.not_modified
        request = http_server.requests_to("/seed.rss")[-1]
        assert request.headers["if-none-match"] == '"seed-v1"'
        assert request.headers["if-modified-since"] == LAST_MODIFIED
        assert count(app, "SELECT COUNT(*) FROM alerts") == alerts
        state = get_feed(app, "seed")
        assert state is not None and state.failures == 0 and state.last_status == 304


async def test_broken_feeds_fail_alone_and_say_why(
    http_server: LoopbackServer, make_settings: MakeSettings
) -> None:
    html = b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hi</p></body></html>"
    feeds = {
        "good": http_server.add("/good.rss", seed_route()),
        "illformed": http_server.add(
            "/bad.xml", Static((ILLFORMED / "rss_incomplete_cdata.xml").read_bytes())
        ),
        "server-error": http_server.add("/500", Status(500)),
        "silent": http_server.add("/hang", Hang()),
        "huge": http_server.add("/huge", Stream(size=600_000)),
        "loop": http_server.add("/loop-a", Redirect(http_server.url("/loop-b"), status=302)),
        "web-page": http_server.add("/page", Static(html, content_type="text/html")),
        "refused": "http://127.0.0.1:9/feed.xml",
    }
    http_server.add("/loop-b", Redirect(http_server.url("/loop-a"), status=302))
    settings = make_settings(
        feeds=[{"name": n, "url": u, "backfill_hours": -1} for n, u in feeds.items()],
        fetch={"timeout": 1.0, "connect_timeout": 1.0, "max_bytes": 200_000},
    )
    async with App.open(settings) as app:
        results = {r.feed: r for r in await app.poll_all()}
        assert results["good"].new_articles == 9 and not results["good"].failed
        assert count(app, f"SELECT COUNT(*) FROM alerts WHERE article_id = '{SEED_ID}'") > 0
        expected = {
            "server-error": "HTTP 500",
            "silent": "timed out",
            "huge": "larger than 200000 bytes",
            "loop": "redirect",
            "web-page": "not a feed",
            "refused": "connect",
        }
        for name, reason in expected.items():
            state = get_feed(app, name)
            assert state is not None
            assert results[name].failed, name
            assert state.failures == 1, name
            assert state.last_error and reason in state.last_error, (name, state.last_error)
            assert state.next_poll_at is not None and state.last_success_at is None
        # An ill-formed feed still yields the entries it can; the problem is recorded on it.
        bad = get_feed(app, "illformed")
        assert bad is not None and bad.last_error and bad.failures == 0


async def test_a_feed_failing_again_backs_off_further(
    http_server: LoopbackServer, make_settings: MakeSettings
) -> None:
    url = http_server.add("/503", Status(503, headers={"Retry-After": "7200"}))
    settings = make_settings(feeds=[{"name": "busy", "url": url, "interval": 600}])
    async with App.open(settings) as app:
        await app.poller.poll(app.feeds[0])
        state = get_feed(app, "busy")
        assert state is not None and state.next_poll_at and state.last_polled_at
        wait = (state.next_poll_at - state.last_polled_at).total_seconds()
        assert wait >= 7200, "Retry-After is honoured"


async def test_permanent_redirect_moves_the_feed(
    http_server: LoopbackServer, make_settings: MakeSettings
) -> None:
    new_url = http_server.add("/new.rss", seed_route())
    old_url = http_server.add("/old.rss", Redirect(new_url, status=301))
    settings = make_settings(feeds=[{"name": "moved", "url": old_url}])
    async with App.open(settings) as app:
        await app.poller.poll(app.feeds[0])
        state = get_feed(app, "moved")
        assert state is not None and state.url == new_url
        await app.poller.poll(app.feeds[0])
        assert len(http_server.requests_to("/old.rss")) == 1


async def test_first_poll_backfill_window_records_without_alerting(
    http_server: LoopbackServer, make_settings: MakeSettings
) -> None:
    url = http_server.add("/seed.rss", seed_route())
    settings = make_settings(feeds=[{"name": "new-feed", "url": url}])  # default window: 48 h
    async with App.open(settings) as app:
        result = await app.poller.poll(app.feeds[0])
        assert result.new_articles == 9
        assert count(app, "SELECT COUNT(*) FROM matches") > 0, "old entries are still matched"
        assert count(app, "SELECT COUNT(*) FROM alerts") == 0, "but raise no alert"


async def test_a_rule_restricted_to_a_feed_tag_sees_only_those_feeds(
    http_server: LoopbackServer, make_settings: MakeSettings, tmp_path: Path
) -> None:
    (tmp_path / "tagged.yaml").write_text(
        "rules:\n"
        "  - {id: wire-only, title: Wire, severity: low, query: militia*, feeds: ['tag:wire']}\n"
        "  - {id: blogs-only, title: Blogs, severity: low, query: militia*, feeds: ['tag:blog']}\n",
        encoding="utf-8",
    )
    url = http_server.add("/seed.rss", seed_route())
    settings = make_settings(
        feeds=[{"name": "seed", "url": url, "backfill_hours": -1, "tags": ["wire"]}],
        rules={"paths": [str(tmp_path / "tagged.yaml")], "watch": False},
    )
    async with App.open(settings) as app:
        await app.poll_all()
        assert rows(app.store, "SELECT DISTINCT rule_id FROM alerts") == [("wire-only",)]
        [(alert_id,)] = rows(app.store, "SELECT id FROM alerts")
        with app.store.read() as uow:
            alert = uow.alerts.load(alert_id)
        assert alert is not None and alert.article.feed_tags == ("wire",)
        assert await app.notifier.deliver_due() == 1
        [mail] = list((settings.data_dir / "mail").glob("*.eml"))
        assert "seed (wire)" in mail.read_text(encoding="utf-8")
