"""MinHash signatures and LSH band keys, in pure Python with deterministic hashes.

Each shingle is hashed once with SHAKE-128, an extendable-output function: its output,
read as ``num_perm`` 32-bit words, gives ``num_perm`` independent hash values, and the
signature is their element-wise minimum over the shingles. Everything is computed in C
(hashlib, struct, map/min/zip): on real articles about 0.2 ms per signature, within a few
tens of microseconds of datasketch's numpy MinHash (benchmarks/stories_bench.py), without
adding numpy and scipy to the install. Never Python's ``hash()``: it is salted per
process, and signatures are compared across instances and restarts.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from functools import cache

Signature = tuple[int, ...]


@cache
def _unpack(num_perm: int) -> struct.Struct:
    return struct.Struct(f"<{num_perm}I")


def signature(shingles: Iterable[str], num_perm: int) -> Signature:
    """The MinHash signature of a non-empty set of shingles."""
    unpack = _unpack(num_perm).unpack
    size = 4 * num_perm
    rows = [unpack(hashlib.shake_128(s.encode("utf-8")).digest(size)) for s in shingles]
    if not rows:
        raise ValueError("a signature needs at least one shingle")
    if len(rows) == 1:
        return rows[0]
    return tuple(map(min, zip(*rows, strict=True)))


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """The estimated Jaccard similarity: the share of positions where the minima agree."""
    if len(a) != len(b) or not a:
        raise ValueError("signatures of different lengths cannot be compared")
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def to_bytes(sig: Sequence[int]) -> bytes:
    return _unpack(len(sig)).pack(*sig)


def from_bytes(data: bytes) -> Signature:
    if len(data) % 4:
        raise ValueError("a stored signature is a whole number of 32-bit words")
    return _unpack(len(data) // 4).unpack(data)


def band_keys(sig: Sequence[int], bands: int, rows: int) -> tuple[int, ...]:
    """One signed 64-bit key per band: copies sharing any band key are candidates."""
    packed = to_bytes(sig)
    width = rows * 4
    return tuple(
        int.from_bytes(
            hashlib.blake2b(
                band.to_bytes(2, "little") + packed[band * width : (band + 1) * width],
                digest_size=8,
            ).digest(),
            "little",
            signed=True,
        )
        for band in range(bands)
    )


def _false_positive(threshold: float, bands: int, rows: int, steps: int = 200) -> float:
    """Area under the candidate probability 1-(1-s^r)^b for s below the threshold."""
    width = threshold / steps
    return sum((1 - (1 - ((i + 0.5) * width) ** rows) ** bands) * width for i in range(steps))


def _false_negative(threshold: float, bands: int, rows: int, steps: int = 200) -> float:
    width = (1 - threshold) / steps
    return sum(
        (1 - (1 - (1 - (threshold + (i + 0.5) * width) ** rows) ** bands)) * width
        for i in range(steps)
    )


# Every band is an index row written per story, at a random place in the index: the measured
# cost of folding grows with the bands (benchmarks/stories_bench.py), so there are at most 16.
MAX_BANDS = 16
# A missed fold repeats an alert; a false candidate costs one signature comparison.
FALSE_POSITIVE_WEIGHT = 0.5


@cache
def lsh_params(threshold: float, num_perm: int, bands: int | None = None) -> tuple[int, int]:
    """``(bands, rows)`` for the threshold: the least weighted area of false candidates and
    missed pairs under the S-curve (as datasketch chooses them, with at most ``MAX_BANDS``
    bands and misses weighing double), or ``rows = num_perm // bands`` when bands are given."""
    if bands is not None:
        return bands, max(1, num_perm // bands)
    best: tuple[float, int, int] | None = None
    for b in range(1, min(MAX_BANDS, num_perm) + 1):
        for r in range(1, num_perm // b + 1):
            error = FALSE_POSITIVE_WEIGHT * _false_positive(threshold, b, r) + _false_negative(
                threshold, b, r
            )
            if best is None or error < best[0]:
                best = (error, b, r)
    assert best is not None
    return best[1], best[2]
