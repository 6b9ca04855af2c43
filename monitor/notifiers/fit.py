"""Cutting a webhook payload to what its receiver accepts (pure).

Slack, Discord and Teams reject (not truncate) a message over their limits, so a long
digest would fail for ever. The templates already cut most fields; this is the guarantee,
applied to the rendered JSON whatever a team's template override produces.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from monitor.notifiers.limits import (
    DISCORD_CONTENT_MAX,
    DISCORD_DESCRIPTION_MAX,
    DISCORD_EMBED_TOTAL_MAX,
    DISCORD_FIELD_VALUE_MAX,
    DISCORD_FOOTER_MAX,
    DISCORD_TITLE_MAX,
    SLACK_HEADER_MAX,
    SLACK_SECTION_MAX,
    SLACK_TEXT_MAX,
    TEAMS_PAYLOAD_MAX_BYTES,
    clip,
)

SLACK_BLOCKS_MAX = 50
SLACK_FIELDS_MAX = 10
DISCORD_EMBEDS_MAX = 10
DISCORD_FIELDS_MAX = 25


def _clip_key(obj: Any, key: str, limit: int) -> None:
    if isinstance(obj, dict) and isinstance(obj.get(key), str):
        obj[key] = clip(obj[key], limit)


def fit_slack(payload: Any) -> Any:
    out = copy.deepcopy(payload)
    if not isinstance(out, dict):
        return out
    _clip_key(out, "text", SLACK_TEXT_MAX)
    blocks = out.get("blocks")
    if isinstance(blocks, list):
        del blocks[SLACK_BLOCKS_MAX:]
        for block in blocks:
            if not isinstance(block, dict):
                continue
            limit = SLACK_HEADER_MAX if block.get("type") == "header" else SLACK_SECTION_MAX
            _clip_key(block.get("text"), "text", limit)
            for key, most in (("fields", SLACK_FIELDS_MAX), ("elements", None)):
                items = block.get(key)
                if isinstance(items, list):
                    if most is not None:
                        del items[most:]
                    for item in items:
                        _clip_key(item, "text", SLACK_SECTION_MAX)
    return out


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(str(embed.get("title", ""))) + len(str(embed.get("description", "")))
    footer = embed.get("footer")
    if isinstance(footer, dict):
        size += len(str(footer.get("text", "")))
    for f in embed.get("fields", []) if isinstance(embed.get("fields"), list) else []:
        if isinstance(f, dict):
            size += len(str(f.get("name", ""))) + len(str(f.get("value", "")))
    return size


def fit_discord(payload: Any) -> Any:
    out = copy.deepcopy(payload)
    if not isinstance(out, dict):
        return out
    _clip_key(out, "content", DISCORD_CONTENT_MAX)
    embeds = out.get("embeds")
    if not isinstance(embeds, list):
        return out
    del embeds[DISCORD_EMBEDS_MAX:]
    for embed in embeds:
        if not isinstance(embed, dict):
            continue
        _clip_key(embed, "title", DISCORD_TITLE_MAX)
        _clip_key(embed, "description", DISCORD_DESCRIPTION_MAX)
        _clip_key(embed.get("footer"), "text", DISCORD_FOOTER_MAX)
        fields = embed.get("fields")
        if isinstance(fields, list):
            del fields[DISCORD_FIELDS_MAX:]
            for f in fields:
                _clip_key(f, "name", DISCORD_TITLE_MAX)
                _clip_key(f, "value", DISCORD_FIELD_VALUE_MAX)
        excess = _embed_size(embed) - DISCORD_EMBED_TOTAL_MAX
        if excess > 0 and isinstance(embed.get("description"), str):
            description = embed["description"]
            embed["description"] = clip(description, max(1, len(description) - excess))
    return out


def _strings(obj: Any, found: list[tuple[Any, Any, int]]) -> None:
    """Every string value in ``obj`` as (container, key, length)."""
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, value in items:
        if isinstance(value, str):
            found.append((obj, key, len(value)))
        else:
            _strings(value, found)


def _encoded_size(obj: Any) -> int:
    return len(json.dumps(obj, ensure_ascii=False).encode("utf-8"))


def fit_bytes(payload: Any, limit: int) -> Any:
    """Halve the longest string until the encoded payload fits in ``limit`` bytes."""
    out = copy.deepcopy(payload)
    for _ in range(200):
        if _encoded_size(out) <= limit:
            break
        found: list[tuple[Any, Any, int]] = []
        _strings(out, found)
        if not found:
            break
        container, key, length = max(found, key=lambda f: f[2])
        if length <= 1:
            break
        container[key] = clip(container[key], length // 2)
    return out


def fit_teams(payload: Any) -> Any:
    return fit_bytes(payload, TEAMS_PAYLOAD_MAX_BYTES)


FITTERS: dict[str, Callable[[Any], Any]] = {
    "slack": fit_slack,
    "discord": fit_discord,
    "teams": fit_teams,
}


def fit_body(fmt: str, body: bytes) -> bytes:
    """The body, unchanged when it fits its format's limits, else cut and re-encoded."""
    fitter = FITTERS.get(fmt)
    if fitter is None:
        return body
    payload = json.loads(body)
    fitted = fitter(payload)
    if fitted == payload:
        return body
    return json.dumps(fitted, ensure_ascii=False).encode("utf-8")
