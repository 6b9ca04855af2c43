"""Size bounds, in one place: rendered fields and whole messages per channel (pure).

An article is untrusted input: a feed can carry a 5 MB title. Every field shown to a reader
is cut here (with ``…``) before any template sees it, and every channel caps the whole
message at what its receiver accepts.
"""

from __future__ import annotations

ELLIPSIS = "…"

# Rendered fields (characters).
TITLE_MAX = 300
SNIPPET_MAX = 1_000
SUMMARY_MAX = 2_000
AUTHOR_MAX = 200
MATCHED_TEXT_MAX = 200  # one matched word/phrase as listed under "Matched"
FEED_MAX = 200
URL_MAX = 2_048  # a longer article link is not shown (browsers and mail clients choke)
HITS_MAX = 100  # hits listed in the JSON payload
MATCHED_MAX = 50  # distinct matched texts per set

# Whole messages.
EMAIL_MAX_BYTES = 1_000_000  # default of channels.NAME.max_bytes
SLACK_TEXT_MAX = 40_000  # chat.postMessage "text"
SLACK_SECTION_MAX = 3_000  # a section block's text
SLACK_HEADER_MAX = 150  # a header block's plain_text
DISCORD_CONTENT_MAX = 2_000
DISCORD_TITLE_MAX = 256
DISCORD_DESCRIPTION_MAX = 4_096
DISCORD_FIELD_VALUE_MAX = 1_024
DISCORD_FOOTER_MAX = 2_048
DISCORD_EMBED_TOTAL_MAX = 6_000
TEAMS_PAYLOAD_MAX_BYTES = 28_000  # Teams rejects larger messages (documented ~28 KB)
APPRISE_BODY_MAX = 10_000  # the services behind Apprise differ; stay well under the smallest
RESPONSE_DETAIL_MAX_BYTES = 4_096  # how much of an error answer is read for the reason


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked with ``…``."""
    if limit <= 0:
        return ""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + ELLIPSIS


def clip_bytes(text: str, limit: int) -> str:
    """``text`` cut so its UTF-8 encoding is at most ``limit`` bytes (``…`` included)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    marker = ELLIPSIS.encode("utf-8")
    if limit < len(marker):
        return ""
    return data[: limit - len(marker)].decode("utf-8", "ignore").rstrip() + ELLIPSIS
