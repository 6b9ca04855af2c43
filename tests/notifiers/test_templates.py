"""Templates: overrides fall back to the packaged ones; a broken one fails the start."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.notifiers import NotifierConfigError
from monitor.notifiers.templates import PACKAGED_DIR, TEMPLATE_NAMES, Templates

from .conftest import T0, make_article, make_rule

UTC = ZoneInfo("UTC")


def test_packaged_templates_are_the_projects(tmp_path: Path):
    repo = Path(__file__).resolve().parents[2]
    assert repo / "monitor" / "data" / "templates" == PACKAGED_DIR
    for name in TEMPLATE_NAMES:
        assert (PACKAGED_DIR / name).is_file(), name


async def test_override_one_template_others_fall_back(make_harness, tmp_path: Path):
    overrides = tmp_path / "tpl"
    overrides.mkdir()
    (overrides / "alert.txt.j2").write_text(
        "TEAM FORMAT {{ alert.rule.id }}: {{ alert.article.title }}\n"
    )
    h = make_harness(
        templates_dir=overrides,
        channels={
            "out": {"type": "console"},
            "box": {"type": "folder", "path": str(tmp_path / "m")},
        },
    )
    h.raise_alert(make_rule(), make_article())
    await h.notifier.deliver_due(T0)
    assert "TEAM FORMAT iran-proxies:" in h.stdout.getvalue()
    [eml] = (tmp_path / "m").glob("*.eml")
    assert b"<mark" in eml.read_bytes() or b"mark style" in eml.read_bytes()  # packaged HTML


@pytest.mark.parametrize(
    ("name", "source", "line", "needle"),
    [
        ("digest.html.j2", "<p>\n{% for x in digest.groups %}\n{{ x }\n", 3, "digest.html.j2"),
        ("alert.txt.j2", "ok\nok\n{{ alert.no_such_field }}\n", 3, "alert.txt.j2"),
        ("webhook/slack.json.j2", '{"text": {{ payload.id | tojson }},}\n', None, "invalid JSON"),
    ],
)
def test_broken_override_fails_the_start_with_file_and_line(
    tmp_path: Path, name: str, source: str, line: int | None, needle: str
):
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    with pytest.raises(NotifierConfigError) as err:
        Templates(tmp_path, UTC)
    message = str(err.value)
    assert needle in message
    if line is not None:
        assert str(target) in message and f"line {line}" in message


def test_broken_subject_template_names_the_channel_key(make_harness):
    h = make_harness(channels={"box": {"type": "folder", "subject": "{{ alert.rule.title "}})
    with pytest.raises(NotifierConfigError, match=r"channels\.box\.subject"):
        _ = h.notifier


def test_missing_templates_dir_is_an_error(tmp_path: Path):
    with pytest.raises(NotifierConfigError, match="not a directory"):
        Templates(tmp_path / "missing", UTC)


def test_samples_render_in_every_template():
    t = Templates(None, ZoneInfo("Asia/Tokyo"))
    alert, digest = t.samples()
    assert "JST" in t.text(alert)
    for fmt in ("json", "slack", "teams", "discord"):
        assert t.webhook_body(fmt, alert).startswith(b"{")
        assert t.webhook_body(fmt, digest).startswith(b"{")


def test_the_text_alert_puts_each_field_on_its_own_line():
    """Regression: with no feed tags, trim_blocks ate the newline after the Source line, so
    "Also in:" ran on from it ("Source:     outletAlso in:    wire")."""
    t = Templates(None, ZoneInfo("UTC"))
    alert, _digest = t.samples()
    lines = t.text(alert).splitlines()
    assert "Source:     sample-feed" in lines
    assert "Also in:    sample-wire" in lines
    update = t.text(t.update_sample()).splitlines()
    assert "Now also:   sample-wire, sample-outlet" in update
    assert "Carried by: 3 feed(s): sample-feed, sample-wire, sample-outlet" in update
