"""A manifest lying in the audio folder (GTZAN-style ``tracks.csv``): used, or pointed out.

A folder scan alone knows labels from sub-folder names but no artists, splits or other columns;
a CSV next to the audio often has them. :func:`use_found_manifest` looks at the CSV files directly
in the folder: one with a ``path`` column that lists every audio file the scan found is used (its
metadata for the scanned files; the folder's label where the manifest has none); a CSV with a
``path`` column that does not cover the folder, or that cannot be read, is named in a note with
the option that uses it.
"""

from __future__ import annotations

import csv
import dataclasses
import os

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.sources.common import SourceScan
from genrekit.pipeline.extraction.sources.manifest import read_manifest


def _header(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return [c.strip().lower() for c in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def use_found_manifest(root: str, scan: SourceScan) -> SourceScan:
    """``scan`` with the metadata of a manifest found in ``root``, or with a note suggesting one.

    Notes for the user are appended to ``scan.notes``; the used manifest leaves ``scan.skipped``.
    """
    names = [s for s in scan.skipped if "/" not in s and s.lower().endswith(".csv")]
    candidates = [n for n in names if "path" in _header(os.path.join(root, n))]
    by_path = {os.path.abspath(t.path): t for t in scan.tracks}
    for name in candidates:
        csv_path = os.path.join(root, name)
        try:
            listed = read_manifest(csv_path)
        except ParameterError as e:
            scan.notes.append(f"{csv_path} looks like a manifest but cannot be used: {e}")
            continue
        found = {os.path.abspath(t.path): t for t in listed.tracks if os.path.abspath(t.path) in by_path}
        if len(found) < len(by_path):
            scan.notes.append(
                f"{csv_path} looks like a manifest (columns {', '.join(_header(csv_path))}) but lists "
                f"{len(found)} of the {len(by_path)} audio files here; to use it: --manifest {csv_path}")
            continue
        tracks = [t if t.label is not None else dataclasses.replace(t, label=by_path[p].label)
                  for p, t in found.items()]
        scan.notes.append(
            f"using the manifest {csv_path} found in the audio folder (columns "
            f"{', '.join(_header(csv_path))}); --no-manifest scans the folder alone")
        return dataclasses.replace(scan, tracks=sorted(tracks, key=lambda t: t.id),
                                   skipped=[s for s in scan.skipped if s != name])
    return scan
