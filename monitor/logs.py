"""Logging setup and the observers that turn pipeline events into log lines."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from monitor.bus import EventBus
from monitor.events import AlertDelivered, AlertFailed, AlertQueued, FeedPolled, RulesReloaded

# Attributes every LogRecord has; anything else was passed with ``extra=`` and goes into JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the ``extra=`` fields, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Logs go to stderr so that the console channel's alerts on stdout stay clean."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "watchfiles", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_events(bus: EventBus) -> None:
    """Subscribe the log lines: one per poll, per alert queued, per delivery outcome."""
    poll_log = logging.getLogger("monitor.poll")
    alert_log = logging.getLogger("monitor.alerts")
    rules_log = logging.getLogger("monitor.rules")

    def polled(e: FeedPolled) -> None:
        status = "304" if e.not_modified else (str(e.status) if e.status is not None else "-")
        fields = {
            "feed": e.feed,
            "status": e.status,
            "new_articles": e.new_articles,
            "duration": round(e.duration, 3),
            "error": e.error,
        }
        suffix = f" error={e.error}" if e.error else ""
        poll_log.log(
            logging.ERROR if e.failed else logging.WARNING if e.error else logging.INFO,
            "feed=%s status=%s new=%d duration=%.2fs%s",
            e.feed, status, e.new_articles, e.duration, suffix, extra=fields,
        )  # fmt: skip

    def queued(e: AlertQueued) -> None:
        where = f"digest {e.digest}" if e.digest else ", ".join(e.channels) or "no channel"
        alert_log.info(
            "alert %s rule=%s article=%s → %s",
            e.alert_id, e.rule_id, e.article_id, where,
            extra={"alert_id": e.alert_id, "rule_id": e.rule_id, "article_id": e.article_id},
        )  # fmt: skip

    def delivered(e: AlertDelivered) -> None:
        what = f"alert {e.alert_id}" if e.alert_id else f"digest {e.digest_id}"
        alert_log.info(
            "delivered %s to %s (outbox %s, attempt %d)", what, e.channel, e.outbox_id, e.attempt,
            extra={"outbox_id": e.outbox_id, "channel": e.channel},
        )  # fmt: skip

    def failed(e: AlertFailed) -> None:
        alert_log.log(
            logging.ERROR if e.final else logging.WARNING,
            "%s %s via %s after %d attempt(s)%s: %s",
            "gave up on" if e.final else "will retry", e.what or e.outbox_id, e.channel,
            e.attempts, "" if e.retry_in is None else f", retry in {e.retry_in:.0f}s", e.reason,
            extra={"outbox_id": e.outbox_id, "channel": e.channel, "final": e.final},
        )  # fmt: skip

    def reloaded(e: RulesReloaded) -> None:
        if e.ok:
            rules_log.info("rule set %s active (%d rules)", e.version, e.rules)
        else:
            rules_log.error(
                "rule change refused, keeping rule set %s:\n  %s", e.version, "\n  ".join(e.errors)
            )

    bus.subscribe(FeedPolled, polled)
    bus.subscribe(AlertQueued, queued)
    bus.subscribe(AlertDelivered, delivered)
    bus.subscribe(AlertFailed, failed)
    bus.subscribe(RulesReloaded, reloaded)
