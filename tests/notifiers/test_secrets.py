"""Credentials in webhook/Apprise URLs and signing secrets never reach logs, errors or output."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from monitor.cli import main
from monitor.events import AlertFailed
from monitor.logs import JsonFormatter, log_events
from monitor.notifiers import NotifierConfigError
from monitor.notifiers.redact import redact_url, scrub
from monitor.notifiers.signing import secret_key, sign, verify

from .conftest import T0, Reply, free_port, make_article, make_rule

PASSWORD = "Pa55-w0rd-SECRET"
TOKEN = "tok-XYZZY-0123456789"
PATH_SECRET = "B0123456789ABCDEFGHIJKLM"


def secret_url(port: int) -> str:
    return f"http://analyst:{PASSWORD}@127.0.0.1:{port}/services/T000/{PATH_SECRET}?token={TOKEN}"


def assert_clean(text: str) -> None:
    for secret in (PASSWORD, TOKEN, PATH_SECRET):
        assert secret not in text, f"{secret!r} leaked into: {text[:300]}"


def formatted(records: list[logging.LogRecord]) -> str:
    text = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    js = JsonFormatter()
    return "\n".join(text.format(r) + "\n" + js.format(r) for r in records)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"http://user:{PASSWORD}@host.example:8080/hook?token={TOKEN}",
            "http://host.example:8080/…",
        ),
        (
            "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
            "https://hooks.slack.com/…",
        ),
        ("https://discord.com/api/webhooks/123/abcDEF-secret", "https://discord.com/…"),
        (
            "https://example.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d",
            "https://example.webhook.office.com/…",
        ),
        ("https://host.example/", "https://host.example"),
        ("tgram://123456:ABCDEF/987", "tgram://…"),
        ("json://user:pw@127.0.0.1:9/x", "json://127.0.0.1:9/…"),
        ("not a url", "(invalid URL)"),
    ],
)
def test_redact_url(url: str, shown: str):
    assert redact_url(url) == shown


def test_scrub_removes_every_secret_piece():
    url = f"http://analyst:{PASSWORD}@127.0.0.1:9/services/T000/{PATH_SECRET}?token={TOKEN}"
    text = f"failed for url '{url}'; path /services/T000/{PATH_SECRET}; pw {PASSWORD}; {TOKEN}"
    clean = scrub(text, [url])
    assert_clean(clean)
    assert "http://127.0.0.1:9/…" in clean


async def test_failing_webhook_leaks_no_secret(make_harness, webhook_receiver, caplog):
    # The receiver echoes the request path (with the token) in its error answer, as some do.
    webhook_receiver.script = [Reply(404, body=f"no hook /services/T000/{PATH_SECRET}".encode())]
    port = int(webhook_receiver.url().split(":")[2].split("/")[0])
    dead_port = free_port()
    h = make_harness(
        channels={
            "answered": {"type": "webhook", "url": secret_url(port), "timeout": 5},
            "refused": {"type": "webhook", "url": secret_url(dead_port), "timeout": 5},
        },
        default_channels=["answered", "refused"],
    )
    log_events(h.bus)
    caplog.set_level(logging.DEBUG)
    h.raise_alert(make_rule(), make_article())
    await h.notifier.deliver_due(T0)

    assert webhook_receiver.requests, "the answered webhook was really called"
    failures = h.of_type(AlertFailed)
    assert len(failures) == 2
    for failure in failures:
        assert_clean(failure.reason)
        assert "127.0.0.1" in failure.reason  # still says where
    for row in h.outbox():
        assert_clean(row["last_error"])
    assert_clean(formatted(caplog.records))
    assert any("HTTP 404" in f.reason for f in failures)


def test_send_test_output_leaks_no_secret(tmp_path: Path):
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n'
        f'[channels.hook]\ntype = "webhook"\nurl = "{secret_url(free_port())}"\ntimeout = 3\n'
    )
    result = CliRunner().invoke(main, ["send-test", "hook", "--config", str(config)])
    assert result.exit_code == 1
    assert "send-test hook failed" in result.output
    assert_clean(result.output)


def test_a_rejected_url_is_not_echoed():
    from monitor.notifiers.config import WebhookChannel

    with pytest.raises(ValidationError) as info:
        WebhookChannel(url=f"ftp://analyst:{PASSWORD}@host.example/{PATH_SECRET}")  # type: ignore[arg-type]
    assert "http(s) URL" in str(info.value)
    assert_clean(str(info.value))


# -- signing secrets ------------------------------------------------------------------------


def test_standard_webhooks_test_vector():
    # The published Standard Webhooks example (reference libraries' tests).
    key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    assert verify(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, f"v1,bm9wZQ== {expected}")


@pytest.mark.parametrize(
    "secret",
    [
        "correct horse battery staple, long enough",  # no prefix: was used as UTF-8
        "whsec_" + base64.b64encode(b"16 bytes only!!!").decode(),  # too short
        "whsec_not*base64",
        "whsec_",
    ],
)
def test_weak_or_malformed_secrets_fail_the_start_naming_the_key(make_harness, secret: str):
    h = make_harness(
        channels={"hook": {"type": "webhook", "url": "https://h.example/x", "secret": secret}}
    )
    with pytest.raises(NotifierConfigError, match=r"^channels\.hook\.secret: ") as info:
        _ = h.notifier
    assert secret not in str(info.value) or secret == "whsec_"


def test_monitor_secret_prints_a_fresh_usable_secret():
    runner = CliRunner()
    first = runner.invoke(main, ["secret"])
    second = runner.invoke(main, ["secret"])
    assert first.exit_code == 0 and second.exit_code == 0
    value = first.output.strip()
    assert value.startswith("whsec_") and value != second.output.strip()
    assert len(secret_key(value)) == 32
