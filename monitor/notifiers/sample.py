"""A realistic sample alert, for ``monitor send-test`` and for checking templates at start."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.models import Alert, Article, Hit, Rule, Surge, SurgeDetail, alert_id

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


def sample_surge(now: datetime | None = None) -> Alert:
    """A test surge alert: more articles than a surge alert shows, some without a link."""
    base = sample_alert(now)
    rule = replace(base.rule, id="sample-surge", surge=Surge(3, timedelta(hours=2)))
    feeds = ("sample-wire", "sample-feed", "sample-agency")
    articles = tuple(
        replace(
            base.article,
            id=f"sample-surge-{i}",
            feed=feeds[i % 3],
            title=f"{_TITLE} ({i + 1})",
            link=None if i % 4 == 3 else f"{base.article.link}-{i}",
            published=base.created_at - timedelta(minutes=100 - 7 * i),
        )
        for i in range(12)
    )
    return replace(
        base,
        id="sample-surge-alert",
        rule=rule,
        article=articles[-1],
        surge=SurgeDetail(start=articles[-1].published, feeds=feeds, articles=articles, total=14),
    )
