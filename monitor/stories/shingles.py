"""Article text → the set of word shingles that identify its story (pure).

Only the title and the first paragraph (the lede) are used: outlets carrying a wire story
keep those and cut, extend or rewrite the rest. Text is normalised (NFKC, case-folded,
punctuation dropped) so that typography and markup do not separate copies. Scripts written
without spaces (Chinese, Japanese, Thai, ...) count each character as a word. Input is
clipped before any work, so a 5 MB title costs no more than a long one.
"""

from __future__ import annotations

import re
import unicodedata

from monitor.models import Article

TITLE_MAX_CHARS = 1_000
LEDE_MAX_CHARS = 4_000
LEDE_MAX_WORDS = 60  # the lede, as far as copies share it
SHINGLE_WORDS = 3  # chosen on real articles with benchmarks/stories_bench.py

# One token: a character of a script written without spaces, else a run of word characters.
_NO_SPACE = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
)
_TOKEN = re.compile(rf"[{_NO_SPACE}]|[^\W{_NO_SPACE}]+")
_PARAGRAPH = re.compile(r"\n\s*\n")


def lede(article: Article) -> str:
    """The first paragraph of the summary, else of the content (clipped)."""
    text = article.summary.strip() or article.content.strip()
    head = text[:LEDE_MAX_CHARS]
    return _PARAGRAPH.split(head, maxsplit=1)[0]


def words(text: str, limit: int) -> list[str]:
    """Normalised words of ``text``, at most ``limit``."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    found: list[str] = []
    for m in _TOKEN.finditer(folded):
        found.append(m.group())
        if len(found) >= limit:
            break
    return found


def story_words(article: Article) -> list[str]:
    """The title's words then the lede's, each side clipped."""
    title = words(article.title[:TITLE_MAX_CHARS], TITLE_MAX_CHARS)
    return title + words(lede(article), LEDE_MAX_WORDS)


def shingles(tokens: list[str], size: int = SHINGLE_WORDS) -> set[str]:
    """Every run of ``size`` consecutive words (fewer words: the one run there is)."""
    if not tokens:
        return set()
    if len(tokens) <= size:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}
