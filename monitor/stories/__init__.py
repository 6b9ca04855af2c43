"""One alert per story: near-duplicate articles (syndicated copies) folded into stories.

The pure core — text → word shingles → MinHash signature → LSH band keys — lives here;
the story state (stories, band keys, members) lives in the store, so that several instances
sharing one PostgreSQL fold the same copies into the same story.
"""

from monitor.stories.config import StoriesConfig
from monitor.stories.fingerprint import Fingerprint, Fingerprinter

__all__ = ["Fingerprint", "Fingerprinter", "StoriesConfig"]
