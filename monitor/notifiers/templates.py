"""Loading, checking and rendering the Jinja2 templates (packaged, or overridden per team).

Every template is compiled and rendered against a sample alert and digest at start, so a
broken override stops the daemon with its file and line instead of failing the first alert.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from monitor.notifiers.errors import DeliveryError, NotifierConfigError
from monitor.notifiers.sample import sample_alert, sample_surge
from monitor.notifiers.views import (
    AlertView,
    DigestView,
    alert_payload,
    alert_view,
    digest_payload,
    digest_view,
    story_update_view,
)
from monitor.resources import templates_dir

PACKAGED_DIR = templates_dir()  # monitor/data/templates, shipped in the wheel
WEBHOOK_FORMATS = ("json", "slack", "teams", "discord")
TEMPLATE_NAMES: tuple[str, ...] = (
    "alert.txt.j2",
    "alert.html.j2",
    "digest.txt.j2",
    "digest.html.j2",
    *(f"webhook/{f}.json.j2" for f in WEBHOOK_FORMATS),
)
# A story update (more outlets carry a story already alerted) is short: templates of its own.
# The json format sends its payload (type story_update) through webhook/json.json.j2.
UPDATE_TEMPLATE_NAMES: tuple[str, ...] = (
    "story_update.txt.j2",
    "story_update.html.j2",
    *(f"webhook/story_update.{f}.json.j2" for f in WEBHOOK_FORMATS if f != "json"),
)


def _is_update(item: AlertView | DigestView) -> bool:
    return isinstance(item, AlertView) and item.update is not None


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(".html.j2")


def _slack_escape(value: object) -> str:
    """Slack mrkdwn treats ``& < >`` as control characters."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markdown_escape(value: object) -> str:
    """Discord/Teams markdown: untrusted text must not format, link or mention."""
    out = []
    for c in str(value):
        if c in "\\*_~`|>[]()#@<":
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def _html_mark(segments: Any) -> Markup:
    """Segments as escaped HTML with hits in ``<mark>`` (inline style: mail clients drop CSS)."""
    parts = []
    for seg in segments:
        if seg.hit:
            parts.append(
                Markup('<mark style="background:#ffe066;color:#000;padding:0 2px;">')
                + escape(seg.text)
                + Markup("</mark>")
            )
        else:
            parts.append(escape(seg.text))
    return Markup("").join(parts)


def _text_mark(segments: Any, left: str = "»", right: str = "«") -> str:
    return "".join(f"{left}{s.text}{right}" if s.hit else s.text for s in segments)


def _slack_mark(segments: Any) -> str:
    """Escaped mrkdwn with hits in bold."""
    return "".join(
        f"*{_slack_escape(s.text.strip())}*" if s.hit else _slack_escape(s.text) for s in segments
    )


def _md_mark(segments: Any) -> str:
    """Escaped markdown (Discord, Teams) with hits in bold."""
    return "".join(
        f"**{_markdown_escape(s.text)}**" if s.hit else _markdown_escape(s.text) for s in segments
    )


def _slack_url(value: object) -> str:
    """A link target inside ``<url|text>``: ``|`` and ``>`` would end it early."""
    return _slack_escape(value).replace("|", "%7C")


def _template_line(exc: BaseException) -> tuple[str | None, int | None]:
    """The template file and line a rendering error came from (Jinja keeps them in the trace)."""
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2") or frame.filename == "<template>":
            found = (frame.filename, frame.lineno)
    return found


class Templates:
    """The template set of one monitor: overrides from ``templates_dir``, else the packaged ones."""

    def __init__(self, override_dir: Path | None, tz: ZoneInfo) -> None:
        self.tz = tz
        loaders: list[jinja2.BaseLoader] = []
        if override_dir is not None:
            if not override_dir.is_dir():
                raise NotifierConfigError(f"templates_dir {override_dir} is not a directory")
            loaders.append(jinja2.FileSystemLoader(str(override_dir)))
        loaders.append(jinja2.FileSystemLoader(str(PACKAGED_DIR)))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=_autoescape,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            extensions=["jinja2.ext.do"],
        )
        self.env.filters.update(
            slack=_slack_escape,
            slack_url=_slack_url,
            slack_mark=_slack_mark,
            md=_markdown_escape,
            md_mark=_md_mark,
            html_mark=_html_mark,
            text_mark=_text_mark,
        )
        self._compiled: dict[str, jinja2.Template] = {}
        for name in (*TEMPLATE_NAMES, *UPDATE_TEMPLATE_NAMES):
            self._compiled[name] = self._load(name)
        self.check()

    def _load(self, name: str) -> jinja2.Template:
        try:
            return self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or name
            raise NotifierConfigError(
                f"template {where}, line {exc.lineno}: {exc.message}"
            ) from exc
        except jinja2.TemplateNotFound as exc:
            raise NotifierConfigError(f"template {name} not found in {PACKAGED_DIR}") from exc

    def source_of(self, name: str) -> str:
        return self._compiled[name].filename or name

    def compile_string(self, source: str, what: str) -> jinja2.Template:
        """A one-line template from the config (an email subject); ``what`` names its key."""
        try:
            return self.env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise NotifierConfigError(f"{what}: line {exc.lineno}: {exc.message}") from exc

    # -- rendering -------------------------------------------------------------------------

    def context(self, item: AlertView | DigestView) -> dict[str, Any]:
        if isinstance(item, AlertView):
            return {"alert": item, "digest": None, "payload": alert_payload(item)}
        return {"alert": None, "digest": item, "payload": digest_payload(item)}

    def render_template(self, template: jinja2.Template, ctx: Mapping[str, Any], what: str) -> str:
        try:
            return template.render(ctx)
        except Exception as exc:
            file, line = _template_line(exc)
            where = f"{file or what}, line {line}" if line else what
            raise DeliveryError(f"template {where}: {exc}", permanent=True) from exc

    def render(self, name: str, item: AlertView | DigestView) -> str:
        return self.render_template(self._compiled[name], self.context(item), self.source_of(name))

    def text(self, item: AlertView | DigestView) -> str:
        if _is_update(item):
            return self.render("story_update.txt.j2", item)
        return self.render("alert.txt.j2" if isinstance(item, AlertView) else "digest.txt.j2", item)

    def html(self, item: AlertView | DigestView) -> str:
        if _is_update(item):
            return self.render("story_update.html.j2", item)
        name = "alert.html.j2" if isinstance(item, AlertView) else "digest.html.j2"
        return self.render(name, item)

    def webhook_body(self, fmt: str, item: AlertView | DigestView) -> bytes:
        """The JSON body for one webhook format, checked to be JSON (signed as these bytes)."""
        name = f"webhook/{fmt}.json.j2"
        if _is_update(item) and fmt != "json":
            name = f"webhook/story_update.{fmt}.json.j2"
        body = self.render(name, item)
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            raise DeliveryError(
                f"template {self.source_of(name)} produced invalid JSON"
                f" (output line {exc.lineno}: {exc.msg})",
                permanent=True,
            ) from exc
        return body.encode("utf-8")

    # -- the start-up check ----------------------------------------------------------------

    def samples(self) -> tuple[AlertView, DigestView]:
        now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        alert = sample_alert(now)
        digest = digest_view(
            id="sample-digest",
            name="sample",
            title="Sample digest",
            kind="digest",
            alerts=[alert],
            created_at=now,
            tz=self.tz,
            max_items=1,
        )
        return alert_view(alert, self.tz), digest

    def surge_sample(self) -> AlertView:
        """A sample surge alert, so a template's surge parts are checked at start too."""
        return alert_view(sample_surge(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)), self.tz)

    def update_sample(self) -> AlertView:
        """The sample alert as a story update (two more outlets joined)."""
        alert, _digest = self.samples()
        return story_update_view(
            alert,
            update_id="sample-update",
            sources=("sample-feed", "sample-wire", "sample-outlet"),
            new_sources=("sample-wire", "sample-outlet"),
        )

    def check(self) -> None:
        """Render every template against the samples; raise with file and line on failure."""
        alert, digest = self.samples()
        surge = self.surge_sample()
        for name in TEMPLATE_NAMES:
            items: tuple[AlertView | DigestView, ...] = (
                (alert, surge)
                if name.startswith("alert.")
                else (digest,)
                if name.startswith("digest.")
                else (alert, surge, digest)
            )
            for item in items:
                try:
                    if name.startswith("webhook/"):
                        self.webhook_body(name.split("/")[1].split(".")[0], item)
                    else:
                        self.render(name, item)
                except DeliveryError as exc:
                    raise NotifierConfigError(exc.reason) from exc
        update = self.update_sample()
        try:
            self.text(update)
            self.html(update)
            for fmt in WEBHOOK_FORMATS:
                self.webhook_body(fmt, update)
        except DeliveryError as exc:
            raise NotifierConfigError(exc.reason) from exc
