"""Size bounds, the channel registry, orphaned temp files and the Apprise channel."""

from __future__ import annotations

import json
import os
import time
import typing
from pathlib import Path

import pytest

from monitor.events import AlertDelivered, AlertFailed
from monitor.notifiers import NotifierConfigError, registry
from monitor.notifiers.config import ChannelConfig
from monitor.notifiers.fit import fit_body, fit_discord, fit_slack, fit_teams
from monitor.notifiers.limits import (
    DISCORD_DESCRIPTION_MAX,
    SLACK_SECTION_MAX,
    SLACK_TEXT_MAX,
    TEAMS_PAYLOAD_MAX_BYTES,
    TITLE_MAX,
)

from .conftest import T0, Reply, make_article, make_rule

HUGE_TITLE = "Houthi " + "x" * 5_000_000


async def test_a_5_mb_title_reaches_neither_console_nor_email_whole(
    make_harness, smtp_server, tmp_path: Path
):
    server = smtp_server()
    h = make_harness(
        channels={
            "out": {"type": "console"},
            "smtp": {
                "type": "email",
                "host": "127.0.0.1",
                "port": server.port,
                "from": "monitor@example.org",
                "to": ["desk@example.org"],
                "timeout": 10,
            },
            "box": {"type": "folder", "path": str(tmp_path / "mail")},
        }
    )
    h.raise_alert(make_rule(), make_article(title=HUGE_TITLE))
    assert await h.notifier.deliver_due(T0) == 3, h.of_type(AlertFailed)

    console = h.stdout.getvalue()
    assert len(console) < 20_000
    assert "x" * TITLE_MAX not in console and "x" * (TITLE_MAX - 20) in console
    [mail] = server.messages
    assert len(mail.data) < 200_000
    [eml] = (tmp_path / "mail").glob("*.eml")
    assert eml.stat().st_size < 200_000


async def test_email_over_max_bytes_drops_html_then_refuses(make_harness, smtp_server):
    server = smtp_server()
    h = make_harness(
        channels={
            "smtp": {
                "type": "email",
                "host": "127.0.0.1",
                "port": server.port,
                "from": "monitor@example.org",
                "to": ["desk@example.org"],
            }
        }
    )
    sender = h.notifier.channels["smtp"]
    alert, _digest = h.notifier.templates.samples()
    full = len(sender.mail.message(alert).as_bytes())  # type: ignore[attr-defined]
    text_only = len(sender.mail.message(alert, html=False).as_bytes())  # type: ignore[attr-defined]
    assert text_only < full

    # Between the two sizes: sent without its HTML part.
    sender.config = sender.config.model_copy(update={"max_bytes": text_only + 10})  # type: ignore[attr-defined]
    msg = sender.message(alert)  # type: ignore[attr-defined]
    assert msg.get_body(("html",)) is None and msg.get_body(("plain",)) is not None

    # Below even the text: refused for good (a retry would not make it smaller).
    sender.config = sender.config.model_copy(update={"max_bytes": text_only // 2})  # type: ignore[attr-defined]
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    [failed] = h.of_type(AlertFailed)
    assert failed.final and "channels.smtp.max_bytes" in failed.reason
    assert not server.messages


def test_payloads_are_cut_to_the_receivers_limits():
    long = "y" * 100_000
    slack = fit_slack(
        {"text": long, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": long}}]}
    )
    assert len(slack["text"]) == SLACK_TEXT_MAX
    assert len(slack["blocks"][0]["text"]["text"]) == SLACK_SECTION_MAX
    discord = fit_discord({"content": long, "embeds": [{"title": long, "description": long}]})
    assert len(discord["content"]) == 2_000
    embed = discord["embeds"][0]
    assert len(embed["title"]) == 256 and len(embed["description"]) <= DISCORD_DESCRIPTION_MAX
    assert len(embed["title"]) + len(embed["description"]) <= 6_000
    teams = fit_teams({"attachments": [{"content": {"body": [{"text": long}, {"text": long}]}}]})
    assert len(json.dumps(teams, ensure_ascii=False).encode()) <= TEAMS_PAYLOAD_MAX_BYTES
    small = b'{"text": "fits"}'
    assert fit_body("slack", small) is small  # untouched when it fits


@pytest.mark.parametrize("fmt", ["slack", "discord", "teams", "json"])
async def test_a_huge_article_posts_within_the_format_limits(make_harness, webhook_receiver, fmt):
    h = make_harness(
        channels={"hook": {"type": "webhook", "url": webhook_receiver.url(), "format": fmt}}
    )
    h.raise_alert(make_rule(), make_article(title=HUGE_TITLE))
    assert await h.notifier.deliver_due(T0) == 1
    [req] = webhook_receiver.requests
    assert len(req.body) < TEAMS_PAYLOAD_MAX_BYTES if fmt != "json" else len(req.body) < 100_000


# -- the registry ---------------------------------------------------------------------------


def test_every_configurable_type_has_a_registry_entry():
    union = typing.get_args(typing.get_args(ChannelConfig)[0])
    types = {t for model in union for t in typing.get_args(model.model_fields["type"].annotation)}
    assert types == set(registry.REGISTRY)


def test_an_unknown_type_is_a_config_error(make_harness):
    h = make_harness()

    class Pager:
        type = "pager"

    with pytest.raises(NotifierConfigError, match=r"channels\.p\.type: unknown type 'pager'"):
        registry.build("p", Pager(), h.notifier.templates)


# -- the mail folder ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["folder", "maildir"])
def test_orphaned_temp_files_are_removed_at_start(make_harness, tmp_path: Path, kind: str):
    root = tmp_path / "mail"
    tmp_dir = root / "tmp" if kind == "maildir" else root
    tmp_dir.mkdir(parents=True)
    old = tmp_dir / ".a1b2.eml.4242.tmp"
    fresh = tmp_dir / ".c3d4.eml.4243.tmp"
    other = tmp_dir / "notes.txt"
    for path in (old, fresh, other):
        path.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    os.utime(other, (two_hours_ago, two_hours_ago))

    h = make_harness(channels={"box": {"type": kind, "path": str(root)}})
    _ = h.notifier
    assert not old.exists()
    assert fresh.exists(), "a young temp file may be another process writing right now"
    assert other.exists(), "only our own temp files are touched"


# -- Apprise --------------------------------------------------------------------------------


async def test_apprise_json_reaches_a_local_endpoint(make_harness, webhook_receiver):
    url = webhook_receiver.url("/apprise").replace("http://", "json://")
    h = make_harness(channels={"push": {"type": "apprise", "urls": [url], "timeout": 10}})
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 1, h.of_type(AlertFailed)
    [req] = webhook_receiver.requests
    assert req.path == "/apprise"
    body = req.json()
    assert body["title"].startswith("[HIGH] Iranian proxies attack U.S. forces")
    assert "Houthi" in body["message"]
    assert len(h.of_type(AlertDelivered)) == 1


async def test_apprise_failure_is_retried_and_leaks_no_secret(
    make_harness, webhook_receiver, caplog
):
    import logging

    from monitor.logs import log_events

    webhook_receiver.default = Reply(500, body=b"broken")
    port = webhook_receiver.url().split(":")[2].split("/")[0]
    url = f"json://analyst:Pa55-w0rd-SECRET@127.0.0.1:{port}/hook/B0123456789ABCDEFGHIJKLM"
    h = make_harness(channels={"push": {"type": "apprise", "urls": [url], "timeout": 10}})
    log_events(h.bus)
    caplog.set_level(logging.DEBUG)
    h.raise_alert(make_rule(), make_article())
    assert await h.notifier.deliver_due(T0) == 0
    [failed] = h.of_type(AlertFailed)
    assert not failed.final and failed.reason.startswith("apprise: 1 of 1 service(s) failed")
    texts = [failed.reason, *(r.getMessage() for r in caplog.records)]
    texts += [row["last_error"] for row in h.outbox()]
    for text in texts:
        assert "Pa55-w0rd-SECRET" not in text and "B0123456789ABCDEFGHIJKLM" not in text


def test_an_unknown_apprise_url_fails_the_start_without_echoing_it(make_harness):
    h = make_harness(channels={"push": {"type": "apprise", "urls": ["nosuchscheme://tok3n-VALUE"]}})
    with pytest.raises(NotifierConfigError, match=r"channels\.push\.urls\[0\]") as info:
        _ = h.notifier
    assert "tok3n-VALUE" not in str(info.value)
