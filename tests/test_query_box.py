"""The status page's query box against the daemon in-process, serving on a loopback port,
over a real store: matches, query errors, bounds, auth and escaping."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from starlette.datastructures import QueryParams

from monitor.app import App
from monitor.clock import utcnow
from monitor.http import query_box
from monitor.http.query_box import MAX_QUERY, QueryBox, render_query_box, run_query
from monitor.models import Article
from monitor.rules import Located, RuleSpec, compile_rules
from tests.conftest import MakeSettings
from tests.test_http import free_port, running, visible_text

EVIL = "<script>alert(1)</script>"


async def raw_status(url: str) -> int:
    """The status of a GET sent over a plain socket (the URL may be of any length)."""
    parts = httpx.URL(url.split("?")[0])
    reader, writer = await asyncio.open_connection(parts.host, parts.port)
    target = url[url.index("/", len("http://")) :]
    writer.write(
        f"GET {target} HTTP/1.1\r\nHost: {parts.host}\r\nConnection: close\r\n\r\n".encode()
    )
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 30)
    writer.close()
    return int(line.split()[1]) if line else 0


def stored(app: App) -> None:
    """Five recent articles and one older than the box's 7 days, in the daemon's store."""
    now = utcnow()
    articles = [
        Article("a1", "wire", f"{EVIL} A drone attack on the port", "javascript:alert(2)",
                now - timedelta(hours=1), content="The port was closed.", feed_tags=("wire",)),
        Article("a2", "wire", "Quiet day", "https://news.example/2", now - timedelta(days=2),
                content="Officials said a drone attack hit the port at night."),
        Article("a3", "other", "Drones attacked a convoy", "https://news.example/3",
                now - timedelta(days=3), feed_tags=("wire-tag",)),
        Article("a4", "other", "Markets rally", None, now - timedelta(days=1)),
        Article("a5", "wire", "Port reopens", None, now - timedelta(days=6)),
        Article("old", "wire", "A drone attack long ago", None, now - timedelta(days=9)),
    ]  # fmt: skip
    with app.store.write() as uow:
        for a in articles:
            uow.articles.upsert(a, link_key=None, now=now)


async def test_a_query_shows_counts_days_and_marked_samples(make_settings: MakeSettings) -> None:
    settings = make_settings(feeds=[], http={"listen": f"127.0.0.1:{free_port()}"})
    async with running(settings) as r, httpx.AsyncClient(timeout=30.0) as client:
        stored(r.app)
        status = await client.get(r.url("/"))
        assert '<form class="box" method="get" action="/backtest">' in status.text
        assert "form-action 'self'" in status.headers["content-security-policy"]

        page = await client.get(r.url("/backtest"), params={"q": "drone* NEAR/3 attack*"})
        assert page.status_code == 200, page.text
        html = page.text
        text = " ".join(visible_text(html).split())
        assert "3 matched of 5 stored articles" in text
        assert "No stored article matched" not in text
        assert len(re.findall(r'<span style="width: \d+%"></span>', html)) == 8  # 7 days, 8 dates
        assert "<mark>drone</mark> <mark>attack</mark>" in html
        assert "<mark>Drones</mark> <mark>attacked</mark>" in html
        assert "A drone attack long ago" not in html  # older than 7 days
        # Untrusted text stays text, and a javascript: link is no link.
        assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "javascript:" not in html
        assert 'href="https://news.example/3"' in html
        # The query is echoed in the box (escaped), so the page is a bookmark.
        assert 'value="drone* NEAR/3 attack*"' in html

        titles = await client.get(
            r.url("/backtest"), params={"q": "drone* NEAR/3 attack*", "field": "title"}
        )
        assert "2 matched of 5" in " ".join(visible_text(titles.text).split())
        feeds = await client.get(
            r.url("/backtest"), params={"q": "drone*", "feeds": "tag:wire-tag, nope"}
        )
        assert "1 matched of 5" in " ".join(visible_text(feeds.text).split())
        sets = await client.get(r.url("/backtest"), params={"q": "@iran OR port"})
        assert sets.status_code == 200  # the active rules' sets are there
        assert "3 matched of 5" in " ".join(visible_text(sets.text).split())

        form = await client.get(r.url("/backtest"))
        assert (
            form.status_code == 200 and 'name="q"' in form.text and 'id="result"' not in form.text
        )


@pytest.mark.parametrize(
    ("query", "column", "message"),
    [
        ("drone AND (attack", 11, "("),
        ("drone NEAR/x attack", 7, "NEAR"),
        ("@nosuchset AND drone", 1, "nosuchset"),
        ("(" * 200 + "x" + ")" * 200, None, "deep"),
    ],
)
async def test_a_query_error_shows_the_message_and_column(
    make_settings: MakeSettings, query: str, column: int | None, message: str
) -> None:
    settings = make_settings(feeds=[], http={"listen": f"127.0.0.1:{free_port()}"})
    async with running(settings) as r, httpx.AsyncClient(timeout=30.0) as client:
        page = await client.get(r.url("/backtest"), params={"q": query})
        assert page.status_code == 400, page.text
        problem = re.search(r'<div class="err" id="problem">(.*?)</div>', page.text, re.S)
        assert problem is not None
        shown = visible_text(problem.group(1))
        assert message in shown.lower() or message in shown
        if column is not None:
            assert shown.startswith(f"column {column}: ")
            assert '<pre class="query mono">' in page.text and "<mark>" in page.text
        assert 'id="result"' not in page.text


async def test_hostile_queries_are_refused_or_escaped_never_a_server_error(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(feeds=[], http={"listen": f"127.0.0.1:{free_port()}"})
    async with running(settings) as r, httpx.AsyncClient(timeout=30.0) as client:
        stored(r.app)
        long = await client.get(r.url("/backtest"), params={"q": "drone " * (MAX_QUERY // 6 + 1)})
        assert long.status_code == 400
        assert f"at most {MAX_QUERY:,}" in long.text
        huge = await raw_status(r.url("/backtest?q=") + "x" * 100_000)  # too long for httpx
        assert huge in (400, 414, 431), huge  # refused, not a server error
        deep = await client.get(r.url("/backtest"), params={"q": "(" * 3000 + "x" + ")" * 3000})
        assert deep.status_code == 400
        script = await client.get(r.url("/backtest"), params={"q": EVIL, "feeds": EVIL})
        assert script.status_code in (200, 400)
        assert "<script" not in script.text and "&lt;script&gt;" in script.text
        fields = await client.get(r.url("/backtest"), params={"q": "drone", "field": "nope"})
        assert fields.status_code == 400 and "choose at least one field" in fields.text
        assert (await client.get(r.url("/healthz"))).status_code == 200  # the daemon lives


async def test_the_box_is_behind_the_token_and_the_readme_example_works(
    make_settings: MakeSettings,
) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    example = re.search(
        r"curl -H \"Authorization: Bearer \$MONITOR_HTTP__TOKEN\" '([^']+)'", readme
    )
    assert example is not None
    address = httpx.URL(example.group(1))
    token = "box-token-1"
    settings = make_settings(feeds=[], http={"listen": f"127.0.0.1:{free_port()}", "token": token})
    async with running(settings) as r, httpx.AsyncClient(timeout=30.0) as client:
        url = r.url("/backtest")
        denied = await client.get(url, params={"q": "drone"})
        assert denied.status_code == 401 and "matched" not in denied.text
        allowed = await client.get(url, params={"q": "drone"}, auth=("desk", token))
        assert allowed.status_code == 200 and 'id="result"' in allowed.text
        assert token not in allowed.text
        stored(r.app)
        documented = await client.get(
            r.url(address.raw_path.decode()), headers={"Authorization": f"Bearer {token}"}
        )
        assert documented.status_code == 200, documented.text
        text = " ".join(visible_text(documented.text).split())
        assert "1 matched of 5 stored articles" in text  # a1: a title hit, from a feed tagged wire


async def test_bounds_stop_a_query_and_the_page_says_so(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(feeds=[], http={"listen": f"127.0.0.1:{free_port()}"})
    async with running(settings) as r, httpx.AsyncClient(timeout=30.0) as client:
        stored(r.app)
        monkeypatch.setattr(query_box, "MAX_ARTICLES", 2)
        page = await client.get(r.url("/backtest"), params={"q": "drone* OR port"})
        assert page.status_code == 200
        text = " ".join(visible_text(page.text).split())
        assert "matched of 2 stored articles" in text
        assert "Stopped at the bound of 2 articles" in text
        monkeypatch.setattr(query_box, "MAX_SECONDS", 0.0)
        timed = await client.get(r.url("/backtest"), params={"q": "drone*"})
        assert "Stopped at the time bound" in " ".join(visible_text(timed.text).split())


async def test_run_query_over_a_real_store_and_one_query_at_a_time(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(feeds=[])
    async with App.open(settings) as app:
        stored(app)
        spec = RuleSpec(id="query", title="q", query="port", query_where=Located("query"))
        ruleset = compile_rules([], [spec]).ruleset
        assert ruleset is not None
        result = run_query(app.store, ruleset, ZoneInfo("UTC"), now=utcnow())
        assert (result.matched, result.scanned, result.stopped_by) == (3, 5, None)
        assert [s.article.id for s in result.samples] == ["a1", "a2", "a5"]  # newest first
        assert sum(d.count for d in result.days) == 3
        box = QueryBox(app.store, ZoneInfo("UTC"))
        try:
            gate = threading.Event()
            box._executor.submit(gate.wait)  # the box's thread is held: the query waits
            running_query = asyncio.create_task(box.run(query_box.BoxInput("port"), ruleset))
            await asyncio.sleep(0)
            assert box.busy
            html, code = await render_query_box(app, box, QueryParams("q=port"))
            assert code == 429 and "another query is running" in html
            gate.set()
            assert (await running_query).result is not None
            assert not box.busy
            html, code = await render_query_box(app, box, QueryParams("q=port"))
            assert code == 200 and "3 matched" in " ".join(visible_text(html).split())
            with app.store.engine.begin() as conn:  # a store that fails to answer
                conn.execute(text("ALTER TABLE articles RENAME TO articles_gone"))
            html, code = await render_query_box(app, box, QueryParams("q=port"))
            assert code == 503 and "the store did not answer" in html and not box.busy
        finally:
            box.close()
