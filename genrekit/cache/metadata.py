"""``metadata.json``: the latest metadata of stored tracks, without recomputing their features.

A shard holds each track's metadata (label, group, split, extra columns, …) as the source said it
when the track was extracted. When a later ``extract`` reads a newer manifest or source, the
tracks it finds cached keep their features and their shard rows; what changed in their metadata
is recorded here, keyed by track id, and :class:`~genrekit.cache.store.FeatureStore` applies it
to the rows it reads. The file is written atomically by the process that holds the store's lock.

Which fields are metadata is not listed by hand: every field of
:class:`~genrekit.cache.layout.TrackRow` except what extraction computes
(:data:`COMPUTED_FIELDS`), so a field added to ``TrackRow`` (and to the source's ``Track``)
follows the manifest with no change here. Format::

    {"version": 1, "tracks": {"<id>": {"label": "jazz", "group": "Miles Davis", ...}, ...}}
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

from genrekit.cache.layout import METADATA_NAME, TrackRow
from genrekit.errors import StoreError
from genrekit.files import atomic_write_text

METADATA_VERSION = 1
#: TrackRow fields extraction computes (or that say where the row is): never metadata.
COMPUTED_FIELDS = ("id", "content_hash", "duration", "sample_rate", "file_size", "file_mtime_ns",
                   "n_frames", "shard", "row")


@functools.lru_cache(maxsize=None)
def metadata_fields() -> tuple[str, ...]:
    """The TrackRow fields a source's newer metadata replaces (path, label, group, split, meta, …)."""
    return tuple(f.name for f in dataclasses.fields(TrackRow) if f.name not in COMPUTED_FIELDS)


def plain(value):
    """``value`` as JSON gives it back (tuples → lists), so stored and new values compare equal
    (plain values are walked directly: this runs for every field of every track of a run)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return json.loads(json.dumps(value, sort_keys=True))


def load_metadata(store_dir) -> dict[str, dict]:
    """The store's metadata updates: ``{track id: {field: value}}`` (empty when there are none)."""
    p = Path(store_dir) / METADATA_NAME
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise StoreError(f"{p} cannot be read ({e}); delete it and run `genrekit extract` again "
                         "to record the source's metadata anew") from e
    tracks = data.get("tracks") if isinstance(data, dict) else None
    if not isinstance(tracks, dict):
        raise StoreError(f"{p} has no 'tracks' table; delete it and run `genrekit extract` again")
    return tracks


def write_metadata(store_dir, tracks: dict[str, dict]):
    """Replace ``metadata.json`` atomically (the caller holds the store's lock)."""
    text = json.dumps({"version": METADATA_VERSION, "tracks": tracks}, sort_keys=True,
                      separators=(",", ":"))
    atomic_write_text(Path(store_dir) / METADATA_NAME, text, fsync=False)


def apply_metadata(row: TrackRow, entry: dict) -> TrackRow:
    """``row`` with the fields of ``entry`` (unknown fields ignored: written by a newer genrekit)."""
    fields = metadata_fields()
    known = {k: _like(getattr(row, k), v) for k, v in entry.items() if k in fields}
    return dataclasses.replace(row, **known) if known else row


def _like(current, value):
    """``value`` in the type the row holds (JSON made a tuple a list)."""
    if isinstance(current, tuple) and isinstance(value, list):
        return tuple(value)
    return value
