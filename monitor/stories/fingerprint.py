"""An article's story fingerprint: its signature and band keys, or none when too short."""

from __future__ import annotations

from typing import NamedTuple

from monitor.models import Article
from monitor.stories.config import StoriesConfig
from monitor.stories.minhash import Signature, band_keys, lsh_params, signature, similarity
from monitor.stories.shingles import SHINGLE_WORDS, shingles, story_words

# Fewer distinct shingles than this (a title of three words, an empty item) say too little
# to tell one story from another: such an article is never folded.
MIN_SHINGLES = 6


class Fingerprint(NamedTuple):
    signature: Signature
    bands: tuple[int, ...]


class Fingerprinter:
    """The configured MinHash/LSH parameters, applied to articles."""

    def __init__(self, config: StoriesConfig, *, shingle_words: int = SHINGLE_WORDS) -> None:
        self.config = config
        self.num_perm = config.num_perm
        self.threshold = config.similarity
        self.bands, self.rows = lsh_params(config.similarity, config.num_perm, config.bands)
        self.shingle_words = shingle_words

    def of(self, article: Article) -> Fingerprint | None:
        found = shingles(story_words(article), self.shingle_words)
        if len(found) < MIN_SHINGLES:
            return None
        sig = signature(found, self.num_perm)
        return Fingerprint(sig, band_keys(sig, self.bands, self.rows))

    def same_story(self, a: Signature, b: Signature) -> bool:
        """The estimated similarity reaches the threshold (signatures of another size: no)."""
        return len(a) == len(b) and similarity(a, b) >= self.threshold
