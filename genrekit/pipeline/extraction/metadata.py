"""A source's latest metadata for tracks the store holds already: recorded, features untouched.

``extract`` reads the source (a folder, a manifest, FMA) every run. A track found cached keeps its
features; if the source now says something else about it (another label, an artist where there
was none, a split, an extra column, a new path), :func:`sync_metadata` records the source's
values in the store's ``metadata.json`` (:mod:`genrekit.cache.metadata`), which every reader
applies; a field the source says nothing about keeps its value. The fields compared are every metadata field of the store's rows that the source's
:class:`~genrekit.pipeline.extraction.tracks.Track` also has, found by name.
"""

from __future__ import annotations

import os
from pathlib import Path

from genrekit.cache import TrackRow
from genrekit.cache.metadata import load_metadata, metadata_fields, plain, write_metadata
from genrekit.pipeline.extraction.tracks import Track


def track_metadata(track: Track) -> dict:
    """The metadata a source gives ``track``, by the store's field names (path made absolute)."""
    out = {f: plain(getattr(track, f)) for f in metadata_fields() if hasattr(track, f)}
    if "path" in out:
        out["path"] = os.path.abspath(track.path)
    return out


def said(value) -> bool:
    """Whether a source says anything with ``value`` (None, "" and empty collections say nothing)."""
    return value is not None and not (isinstance(value, (str, tuple, list, dict)) and len(value) == 0)


def sync_metadata(store_dir: Path, tracks: list[Track], stored: dict[str, TrackRow]) -> int:
    """Record the source's metadata of the tracks ``stored`` holds where it differs.

    A value the source gives replaces the stored one; a field the source says nothing about
    (:func:`said`: a bare folder knows no artist, split or tags) keeps what the store knows, so a
    re-run without the manifest loses nothing.

    Parameters
    ----------
    store_dir : Path
        The store; the caller holds its lock.
    tracks : list of Track
        This run's tracks, as the source describes them now.
    stored : dict of str to TrackRow
        The rows the store holds for this config (with earlier updates applied).

    Returns
    -------
    int
        How many stored tracks' metadata changed (0: ``metadata.json`` is not rewritten).
    """
    updates = load_metadata(store_dir)
    changed, dirty = 0, False
    fields = [f for f in metadata_fields() if f != "path"]
    for t in tracks:
        row = stored.get(t.id)
        if row is None and t.id not in updates:
            continue  # extracted this run: its new row carries the source's metadata
        if (row is not None and row.path == os.path.abspath(t.path)
                and all(getattr(row, f) == v or not said(v) for f in fields for v in [getattr(t, f, None)])):
            continue  # the common case, compared without conversion
        new = {k: v for k, v in track_metadata(t).items() if k == "path" or said(v)}
        if row is None:  # new under this config, updated under another: the update must agree
            merged = {**updates[t.id], **new}
            dirty = dirty or updates[t.id] != merged
            updates[t.id] = merged
        elif any(plain(getattr(row, k)) != v for k, v in new.items()):
            changed += 1
            updates[t.id] = {**updates.get(t.id, {}), **new}
    if changed or dirty:
        write_metadata(store_dir, updates)
    return changed
