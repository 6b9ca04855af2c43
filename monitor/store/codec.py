"""How models are written to and read from store rows (JSON for nested values)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, cast

from monitor.models import Article, Hit, Rule, Severity, Surge


def hits_to_json(hits: Iterable[Hit]) -> str:
    return json.dumps(
        [
            {
                "field": h.field,
                "start": h.start,
                "end": h.end,
                "text": h.text,
                "term": h.term,
                "set_name": h.set_name,
            }
            for h in hits
        ],
        ensure_ascii=False,
    )


def hits_from_json(text: str) -> tuple[Hit, ...]:
    return tuple(
        Hit(
            field=d["field"],
            start=int(d["start"]),
            end=int(d["end"]),
            text=d["text"],
            term=d["term"],
            set_name=d.get("set_name"),
        )
        for d in json.loads(text)
    )


def rule_to_json(rule: Rule) -> str:
    return json.dumps(
        {
            "id": rule.id,
            "title": rule.title,
            "severity": rule.severity,
            "query": rule.query,
            "fields": list(rule.fields),
            "notify": list(rule.notify),
            "schedule": rule.schedule,
            "cooldown": rule.cooldown.total_seconds() if rule.cooldown else None,
            "source": rule.source,
            **(
                {
                    "surge": {
                        "sources": rule.surge.sources,
                        "within": rule.surge.within.total_seconds(),
                    }
                }
                if rule.surge
                else {}
            ),
        },
        ensure_ascii=False,
    )


def rule_from_json(text: str) -> Rule:
    d = json.loads(text)
    return Rule(
        id=d["id"],
        title=d["title"],
        severity=cast(Severity, d["severity"]),
        query=d["query"],
        fields=tuple(d["fields"]),
        notify=tuple(d["notify"]),
        schedule=d["schedule"],
        cooldown=timedelta(seconds=d["cooldown"]) if d.get("cooldown") else None,
        source=d.get("source", ""),
        surge=(
            Surge(d["surge"]["sources"], timedelta(seconds=d["surge"]["within"]))
            if d.get("surge")
            else None
        ),
    )


def article_to_row(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "feed": article.feed,
        "title": article.title,
        "link": article.link,
        "published_at": article.published,
        "author": article.author,
        "tags": json.dumps(list(article.tags), ensure_ascii=False),
        "feed_tags": json.dumps(list(article.feed_tags), ensure_ascii=False),
        "summary": article.summary,
        "content": article.content,
        "summary_html": article.summary_html,
        "content_html": article.content_html,
        "content_hash": article.content_hash,
    }


def article_from_row(row: Mapping[str, Any]) -> Article:
    return Article(
        id=row["id"],
        feed=row["feed"],
        title=row["title"],
        link=row["link"],
        published=row["published_at"],
        summary=row["summary"],
        content=row["content"],
        author=row["author"],
        tags=tuple(json.loads(row["tags"])),
        feed_tags=tuple(json.loads(row.get("feed_tags") or "[]")),
        summary_html=row["summary_html"],
        content_html=row["content_html"],
    )
