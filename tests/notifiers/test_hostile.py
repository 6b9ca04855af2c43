"""Untrusted article text cannot add headers, run scripts or become a dangerous link."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from hypothesis import given
from hypothesis import strategies as st

from monitor.notifiers.sanitize import header_text, safe_href

from .conftest import T0, make_article, make_rule

HOSTILE_TITLE = "Houthi drone strike\r\nBcc: victim@evil.example\r\nX-Injected: yes\n\nbody"
HOSTILE_SUMMARY = (
    'Houthi <script>alert("x")</script> drone <a href="javascript:alert(1)">click</a> '
    '<img src="https://tracker.example/p.gif"> "quotes" & ampersands'
)


def mail_channel(port: int) -> dict[str, object]:
    return {
        "ops": {
            "type": "email",
            "host": "127.0.0.1",
            "port": port,
            "from": "monitor@alerts.example.org",
            "to": ["analysts@example.org"],
            "timeout": 5,
        }
    }


async def test_crlf_title_adds_no_header_and_script_arrives_inert(make_harness, smtp_server):
    server = smtp_server()
    h = make_harness(channels=mail_channel(server.port))
    article = make_article(
        title=HOSTILE_TITLE,
        summary=HOSTILE_SUMMARY,
        summary_html=HOSTILE_SUMMARY,
        link="javascript:alert(document.cookie)",
    )
    h.raise_alert(make_rule(), article)
    assert await h.notifier.deliver_due(T0) == 1

    [mail] = server.messages
    assert mail.rcpt_tos == ["analysts@example.org"]  # no smuggled recipient
    msg = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    assert "Bcc: victim@evil.example" in msg["Subject"]  # kept as text, on one line
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    header_names = [name.lower() for name in msg]
    assert len(header_names) == len(set(header_names))

    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html
    assert "javascript:" not in html.split("&lt;a href=")[0]  # only ever inside escaped text
    assert 'href="javascript' not in html and "href='javascript" not in html
    assert "<img" not in html.lower()  # no remote images, the article's included
    assert "&amp; ampersands" in html
    assert "alert(document.cookie)" not in html  # a non-http link is not shown at all
    assert "javascript:" not in text_part.get_content().split("»")[0]


async def test_non_ascii_subject_is_encoded(make_harness, smtp_server):
    server = smtp_server()
    h = make_harness(channels=mail_channel(server.port))
    title = "Ataque con drones hutíes — Irán niega implicación 🚀"
    h.raise_alert(make_rule(), make_article(title=title))
    await h.notifier.deliver_due(T0)
    raw = server.messages[0].data
    head = raw.split(b"\r\n\r\n")[0]
    assert head.isascii() and b"=?utf-8?" in head  # RFC 2047 encoded words
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert title in msg["Subject"]


@given(st.text())
def test_header_text_never_contains_a_line_break(value: str):
    cleaned = header_text(value)
    assert "\r" not in cleaned and "\n" not in cleaned
    assert all(c.isprintable() or c == " " for c in cleaned)
    assert len(cleaned) <= 250


def test_only_absolute_http_links_are_hrefs():
    assert safe_href("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert safe_href(" http://example.org/ ") == "http://example.org/"
    for bad in (
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,xx",
        "//example.org/x",
        "/relative",
        "https://exa mple.org/",
        "java\nscript:alert(1)",
        "vbscript:x",
        None,
        "",
    ):
        assert safe_href(bad) is None, bad
