"""The seeds of every random stream of the synthesis.

Each stream is a :class:`numpy.random.Generator` seeded with a sequence that starts with one of the
tags below, then a CRC-32 of the genre name (never Python's salted :func:`hash`), then integers
(artist, take, sample rate, ...). The tags keep the streams apart.
"""

from __future__ import annotations

import zlib

TAG_ARTIST = 0x5EED_A271
TAG_TAKE = 0x5EED_7A4E
TAG_KIT = 0x5EED_D2C5
TAG_NOISE = 0x5EED_0015


def genre_seed(genre: str) -> int:
    """CRC-32 of the genre name: the same in every process, unlike :func:`hash`."""
    return zlib.crc32(genre.encode("utf-8"))
