"""A realistic sample alert, for ``monitor send-test`` and for checking templates at start."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from monitor.models import Alert, Article, Hit, Rule, alert_id

_TITLE = "Iranian-backed militias poised to escalate attacks on US forces, intelligence reveals"
_SUMMARY = (
    "The United States has intelligence that militia groups with ties to Iran plan to increase "
    "their attacks on U.S. forces in the Middle East. The groups have already carried out "
    "multiple drone attacks on U.S. forces in Iraq and Syria. A U.S. Navy warship intercepted "
    "missiles fired by Iranian-backed Houthi militants off the coast of Yemen; Patriot batteries "
    "and a THAAD system are being deployed. Qatar has acted as an intermediary."
)
_TERMS: tuple[tuple[str, str | None], ...] = (
    ("Iranian-backed", "actors"),
    ("Houthi", "actors"),
    ("drone", "weapons"),
    ("missiles", "weapons"),
    ("Patriot", "weapons"),
    ("THAAD", "weapons"),
    ("attacks", None),
)


def _hits(field: str, text: str) -> list[Hit]:
    found = []
    for term, set_name in _TERMS:
        for m in re.finditer(rf"\b{re.escape(term)}\b", text, flags=re.IGNORECASE):
            found.append(Hit(field, m.start(), m.end(), m.group(0), term, set_name))
    return found


def sample_alert(now: datetime | None = None) -> Alert:
    """A test alert that exercises every part of a template (hits, sets, other feeds)."""
    now = now or datetime.now(UTC)
    rule = Rule(
        id="sample-rule",
        title="Sample: attacks on U.S. forces by Iranian proxies",
        severity="high",
        query='("Iranian-backed" OR Houthi) AND (drone* OR missile*)',
        source="(sample)",
    )
    article = Article(
        id="sample-article",
        feed="sample-feed",
        title=_TITLE,
        link="https://example.org/news/iranian-backed-militias",
        published=now - timedelta(minutes=12),
        summary=_SUMMARY,
        author="Sample Reporter",
    )
    hits = tuple(_hits("title", article.title) + _hits("summary", article.summary))
    return Alert(
        id=alert_id(rule.id, article.id),
        rule=rule,
        article=article,
        hits=hits,
        created_at=now,
        other_feeds=("sample-wire",),
    )
