"""Tests of the collection readers in :mod:`genrekit.pipeline.extraction.sources`."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from genrekit.errors import ParameterError
from genrekit.pipeline.extraction.sources import (
    AUDIO_EXTENSIONS,
    SourceScan,
    fma_audio_path,
    load_source,
    normalise_split,
    read_fma,
    read_manifest,
    scan_folder,
)
from genrekit.pipeline.extraction.tracks import Track

GTZAN_MINI = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gtzan-mini"


def _touch(path: Path, data: bytes = b"\0" * 16) -> Path:
    """Write a small file (readers never decode audio), creating its folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _write_csv(path: Path, rows: list[list[str]], bom: bool = False) -> Path:
    """Write rows as CSV (UTF-8, optional byte-order mark)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


# ---------------------------------------------------------------------------------------------
# Small helpers


def test_audio_extensions_are_lower_case_with_dot() -> None:
    assert ".wav" in AUDIO_EXTENSIONS and ".mp3" in AUDIO_EXTENSIONS and ".opus" in AUDIO_EXTENSIONS
    assert all(ext.startswith(".") and ext == ext.lower() for ext in AUDIO_EXTENSIONS)
    assert len(AUDIO_EXTENSIONS) == 10


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("val", "validation"),
        ("Valid", "validation"),
        (" validation ", "validation"),
        ("training", "train"),
        ("train", "train"),
        ("TEST", "test"),
        ("", None),
        ("  ", None),
        (None, None),
    ],
)
def test_normalise_split(raw: str | None, expected: str | None) -> None:
    assert normalise_split(raw) == expected


def test_normalise_split_refuses_unknown_values() -> None:
    with pytest.raises(ParameterError, match="unknown split 'holdout'; use train, validation, test"):
        normalise_split("holdout")


def test_fma_audio_path_layout(tmp_path: Path) -> None:
    assert fma_audio_path(tmp_path, 2) == os.path.join(str(tmp_path), "000", "000002.mp3")
    assert fma_audio_path(tmp_path, 155066) == os.path.join(str(tmp_path), "155", "155066.mp3")


# ---------------------------------------------------------------------------------------------
# scan_folder


@pytest.fixture()
def gtzan_folder(tmp_path: Path) -> Path:
    """A GTZAN-layout folder with a hidden file, a hidden folder, a .txt and a .jpg."""
    root = tmp_path / "genres"
    real_wav = root / "blues" / "blues.00000.wav"
    real_wav.parent.mkdir(parents=True)
    soundfile.write(str(real_wav), np.zeros(2205, "float32"), 22050)
    for name in ("blues/blues.00001.mp3", "rock/rock.00000.mp3", "rock/rock.00001.MP3"):
        _touch(root / name)
    _touch(root / "blues" / ".DS_Store")
    _touch(root / ".git" / "config.wav")
    _touch(root / "rock" / "README.txt", b"notes")
    _touch(root / "rock" / "cover.jpg", b"\xff\xd8")
    return root


def test_scan_folder_gtzan_layout(gtzan_folder: Path) -> None:
    scan = scan_folder(gtzan_folder)
    assert isinstance(scan, SourceScan)
    ids = [t.id for t in scan.tracks]
    assert ids == [
        "blues/blues.00000.wav",
        "blues/blues.00001.mp3",
        "rock/rock.00000.mp3",
        "rock/rock.00001.MP3",
    ]
    assert [t.label for t in scan.tracks] == ["blues", "blues", "rock", "rock"]
    assert all(t.group is None and t.split is None for t in scan.tracks)
    assert scan.skipped == ["rock/README.txt", "rock/cover.jpg"]
    assert scan.missing == []
    first = scan.tracks[0]
    assert first.path == os.path.join(str(gtzan_folder), "blues", "blues.00000.wav")
    assert os.path.isfile(first.path)


def test_scan_folder_accepts_str_root_and_is_deterministic(gtzan_folder: Path) -> None:
    assert scan_folder(str(gtzan_folder)) == scan_folder(gtzan_folder)


def test_scan_folder_plain_folder_is_unlabelled(tmp_path: Path) -> None:
    for name in ("b.flac", "a.wav", "c.ogg", "notes.csv"):
        _touch(tmp_path / name)
    scan = scan_folder(tmp_path)
    assert [t.id for t in scan.tracks] == ["a.wav", "b.flac", "c.ogg"]
    assert all(t.label is None for t in scan.tracks)
    assert scan.skipped == ["notes.csv"]


def test_scan_folder_single_subfolder_is_not_labelled(tmp_path: Path) -> None:
    _touch(tmp_path / "only" / "a.wav")
    _touch(tmp_path / "only" / "b.wav")
    assert [t.label for t in scan_folder(tmp_path).tracks] == [None, None]


def test_scan_folder_auto_detection_nested(tmp_path: Path) -> None:
    # Deeper nesting: not GTZAN layout, so auto-detection gives no labels ...
    _touch(tmp_path / "jazz" / "a.wav")
    _touch(tmp_path / "rock" / "live" / "b.wav")
    scan = scan_folder(tmp_path)
    assert [t.id for t in scan.tracks] == ["jazz/a.wav", "rock/live/b.wav"]
    assert [t.label for t in scan.tracks] == [None, None]
    # ... while labelled=True uses the first folder.
    forced = scan_folder(tmp_path, labelled=True)
    assert [t.label for t in forced.tracks] == ["jazz", "rock"]


def test_scan_folder_files_in_root_break_auto_labels(tmp_path: Path) -> None:
    _touch(tmp_path / "jazz" / "a.wav")
    _touch(tmp_path / "rock" / "b.wav")
    _touch(tmp_path / "loose.wav")
    assert all(t.label is None for t in scan_folder(tmp_path).tracks)
    forced = {t.id: t.label for t in scan_folder(tmp_path, labelled=True).tracks}
    assert forced == {"jazz/a.wav": "jazz", "rock/b.wav": "rock", "loose.wav": None}


def test_scan_folder_labelled_false(gtzan_folder: Path) -> None:
    assert all(t.label is None for t in scan_folder(gtzan_folder, labelled=False).tracks)


def test_scan_folder_every_extension_case_insensitive(tmp_path: Path) -> None:
    for i, ext in enumerate(AUDIO_EXTENSIONS):
        _touch(tmp_path / f"f{i}{ext.upper() if i % 2 else ext}")
    assert len(scan_folder(tmp_path).tracks) == len(AUDIO_EXTENSIONS)


def test_scan_folder_does_not_follow_folder_links(tmp_path: Path) -> None:
    real = tmp_path / "real"
    _touch(real / "a.wav")
    root = tmp_path / "root"
    _touch(root / "x" / "b.wav")
    try:
        os.symlink(real, root / "link", target_is_directory=True)
    except (OSError, NotImplementedError):
        pytest.skip("cannot create symbolic links here")
    assert [t.id for t in scan_folder(root).tracks] == ["x/b.wav"]


def test_scan_folder_missing_root(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="no such folder: .*nowhere"):
        scan_folder(tmp_path / "nowhere")


def test_scan_folder_bad_labelled(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="'yes'"):
        scan_folder(tmp_path, labelled="yes")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# read_manifest


@pytest.fixture()
def manifest_dir(tmp_path: Path) -> Path:
    """A collection with a manifest carrying artist, split and extra columns."""
    root = tmp_path / "collection"
    for name in ("audio/a.wav", "audio/b.wav", "audio/c.wav", "audio/d.wav"):
        _touch(root / name)
    _write_csv(
        root / "tracks.csv",
        [
            ["path", "label", "artist", "album", "split", "title", "year"],
            ["audio/a.wav", "jazz", "Miles", "Kind of Blue", "training", "So What", "1959"],
            ["audio\\b.wav", "jazz", "", "", "val", "Blue", ""],
            ["./audio/c.wav", "", "Coltrane", "Giant Steps", "Validation", "Naima", "1960"],
            ["audio/d.wav", "rock", "Queen", "", "TEST", "", ""],
            ["audio/cover.jpg", "", "", "", "", "", ""],
            ["audio/gone.wav", "rock", "Nobody", "", "test", "", ""],
        ],
        bom=True,
    )
    return root


def test_read_manifest_fields(manifest_dir: Path) -> None:
    scan = read_manifest(manifest_dir / "tracks.csv")
    by_id = {t.id: t for t in scan.tracks}
    # a missing file is still a track (extraction records it as a failure), and listed in missing
    assert list(by_id) == ["audio/a.wav", "audio/b.wav", "audio/c.wav", "audio/d.wav", "audio/gone.wav"]
    a, b, c, d, _ = by_id.values()
    assert (a.label, a.group, a.split) == ("jazz", "Miles", "train")
    assert (b.label, b.group, b.split) == ("jazz", None, "validation")
    assert (c.label, c.group, c.split) == (None, "Coltrane", "validation")
    assert (d.label, d.group, d.split) == ("rock", "Queen", "test")
    # artist is the group; album, title and year are meta (strings).
    assert a.meta == {"album": "Kind of Blue", "title": "So What", "year": "1959"}
    assert d.meta == {"album": "", "title": "", "year": ""}
    assert scan.skipped == ["audio/cover.jpg"]
    assert scan.missing == ["audio/gone.wav"]
    assert all(os.path.isabs(t.path) for t in scan.tracks)
    assert [t.id for t in scan.tracks if not os.path.isfile(t.path)] == scan.missing


def test_read_manifest_group_column_wins(tmp_path: Path) -> None:
    _touch(tmp_path / "a.wav")
    _write_csv(
        tmp_path / "m.csv",
        [["path", "album", "artist", "group"], ["a.wav", "Alb", "Art", "G1"]],
    )
    (track,) = read_manifest(tmp_path / "m.csv").tracks
    assert track.group == "G1"
    assert track.meta == {"album": "Alb", "artist": "Art"}


def test_read_manifest_album_when_no_artist(tmp_path: Path) -> None:
    _touch(tmp_path / "a.wav")
    _write_csv(tmp_path / "m.csv", [["path", "album"], ["a.wav", "Alb"]])
    (track,) = read_manifest(tmp_path / "m.csv").tracks
    assert track.group == "Alb" and track.meta == {}


def test_read_manifest_relative_paths_follow_the_manifest(
    manifest_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative_manifest = os.path.relpath(manifest_dir / "tracks.csv", elsewhere)
    scan = read_manifest(relative_manifest)
    found = [t for t in scan.tracks if t.id not in scan.missing]
    assert len(found) == 4
    for track in found:
        assert os.path.isfile(track.path)
        expected = manifest_dir / Path(track.id)
        assert os.path.samefile(track.path, expected)
    # Paths stay valid after another change of working directory.
    monkeypatch.chdir(tmp_path)
    assert all(os.path.isfile(t.path) for t in found)


def test_read_manifest_absolute_paths_and_base(tmp_path: Path) -> None:
    audio = _touch(tmp_path / "audio" / "x.flac")
    _touch(tmp_path / "other" / "y.wav")
    _write_csv(
        tmp_path / "meta" / "m.csv", [["path", "label"], [str(audio), "a"], ["y.wav", "b"]]
    )
    scan = read_manifest(tmp_path / "meta" / "m.csv", base=tmp_path / "other")
    paths = {t.label: t.path for t in scan.tracks}
    assert os.path.samefile(paths["a"], audio)
    assert os.path.samefile(paths["b"], tmp_path / "other" / "y.wav")
    assert scan.missing == []


def test_read_manifest_id_column(tmp_path: Path) -> None:
    _touch(tmp_path / "s" / "a.wav")
    _touch(tmp_path / "s" / "b.wav")
    _write_csv(
        tmp_path / "m.csv", [["id", "path"], ["t2", "s/a.wav"], ["", "s/b.wav"]]
    )
    assert [t.id for t in read_manifest(tmp_path / "m.csv").tracks] == ["s/b.wav", "t2"]


def test_read_manifest_header_case_and_spaces(tmp_path: Path) -> None:
    _touch(tmp_path / "a.wav")
    _write_csv(tmp_path / "m.csv", [[" Path ", "Label", " Split"], ["a.wav", "pop", "valid"]])
    (track,) = read_manifest(tmp_path / "m.csv").tracks
    assert (track.label, track.split) == ("pop", "validation")


def test_read_manifest_missing_path_column(tmp_path: Path) -> None:
    manifest = _write_csv(tmp_path / "bad.csv", [["file", "genre"], ["a.wav", "rock"]])
    with pytest.raises(ParameterError) as info:
        read_manifest(manifest)
    message = str(info.value)
    assert "bad.csv" in message
    assert "'path'" in message
    assert "file, genre" in message
    assert "\n" not in message


def test_read_manifest_duplicate_id(tmp_path: Path) -> None:
    _touch(tmp_path / "a.wav")
    manifest = _write_csv(
        tmp_path / "m.csv", [["path", "label"], ["a.wav", "x"], ["./a.wav", "y"]]
    )
    with pytest.raises(ParameterError, match=r"duplicate id 'a\.wav'"):
        read_manifest(manifest)


def test_read_manifest_empty_file(tmp_path: Path) -> None:
    manifest = tmp_path / "empty.csv"
    manifest.write_text("")
    with pytest.raises(ParameterError, match="empty"):
        read_manifest(manifest)


def test_read_manifest_blank_path_and_extra_cells(tmp_path: Path) -> None:
    blank = _write_csv(tmp_path / "blank.csv", [["path", "label"], ["", "rock"]])
    with pytest.raises(ParameterError, match="line 2 has a blank 'path'"):
        read_manifest(blank)
    extra = tmp_path / "extra.csv"
    extra.write_text("path,title\na.wav,Hello, World\n")
    with pytest.raises(ParameterError, match="line 2 has 3 cells"):
        read_manifest(extra)


def test_read_manifest_not_found(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="nope.csv"):
        read_manifest(tmp_path / "nope.csv")


@pytest.mark.skipif(
    not (GTZAN_MINI / "tracks.csv").is_file(),
    reason="shared gtzan-mini data (../shared/data/gtzan-mini) is not available",
)
def test_read_manifest_gtzan_mini() -> None:
    manifest = GTZAN_MINI / "tracks.csv"
    scan = read_manifest(manifest)
    assert len(scan.tracks) == 50
    assert scan.missing == [] and scan.skipped == []
    assert len({t.label for t in scan.tracks}) == 10
    with open(manifest, encoding="utf-8-sig", newline="") as handle:
        artists = {row["path"]: row["artist"].strip() for row in csv.DictReader(handle)}
    for track in scan.tracks:
        assert track.group == (artists[track.id] or None)
        assert "title" in track.meta
    assert any(t.group is not None for t in scan.tracks)


# ---------------------------------------------------------------------------------------------
# read_fma

_FMA_TOP = ["", "album", "album", "artist", "artist", "set", "set", "track", "track", "track"]
_FMA_SUB = ["", "comments", "date_created", "id", "name", "split", "subset", "genre_top",
            "title", "comments"]
_FMA_THIRD = ["track_id"] + [""] * (len(_FMA_TOP) - 1)


def _fma_rows() -> list[list[str]]:
    """Data rows: track_id, album.comments, album.date_created, artist.id, artist.name,
    set.split, set.subset, track.genre_top, track.title, track.comments."""
    return [
        ["2", "0", "2008-11-26", "1", "AWOL", "training", "small", "Hip-Hop", "Food", "0"],
        ["3", "0", "2008-11-26", "1", "AWOL", "training", "medium", "Hip-Hop", "Electric Ave", "0"],
        ["5", "0", "2008-11-26", "1", "AWOL", "validation", "small", "Hip-Hop", "This World", "0"],
        ["10", "0", "2008-11-26", "6", "Kurt Vile", "test", "small", "Pop", "Freeway", "0"],
        ["20", "0", "", "12", "", "training", "large", "", "", "0"],
        ["134", "0", "", "1", "AWOL", "training", "full", "Hip-Hop", "Untitled", "0"],
        ["1040", "0", "", "87", "Multi", "training", "small", "Rock", "Line one\nline two", "0"],
    ]


@pytest.fixture()
def fma(tmp_path: Path) -> tuple[Path, Path]:
    """An FMA-style metadata folder and audio folder; track 5's MP3 is absent."""
    metadata = tmp_path / "fma_metadata"
    _write_csv(metadata / "tracks.csv", [_FMA_TOP, _FMA_SUB, _FMA_THIRD, *_fma_rows()])
    audio = tmp_path / "fma_small"
    for track_id in (2, 3, 10, 20, 134, 1040):
        name = f"{track_id:06d}"
        _touch(audio / name[:3] / f"{name}.mp3")
    return metadata, audio


def test_read_fma_fields(fma: tuple[Path, Path]) -> None:
    metadata, audio = fma
    scan = read_fma(metadata, audio)
    by_id = {t.id: t for t in scan.tracks}
    assert list(by_id) == sorted(["2", "3", "10", "20", "134", "1040"])
    two = by_id["2"]
    assert two == Track(
        id="2",
        path=os.path.join(str(audio), "000", "000002.mp3"),
        label="Hip-Hop",
        group="1",
        split="train",
    )
    assert two.meta == {"subset": "small", "title": "Food", "artist": "AWOL"}
    assert by_id["10"].split == "test" and by_id["10"].group == "6"
    assert by_id["20"].label is None
    assert by_id["20"].meta == {"subset": "large"}
    assert by_id["1040"].path == os.path.join(str(audio), "001", "001040.mp3")
    assert by_id["1040"].meta["title"] == "Line one\nline two"
    assert scan.missing == ["5"]
    assert scan.skipped == []


@pytest.mark.parametrize(
    ("subset", "ids", "missing"),
    [
        ("small", {"2", "10", "1040"}, ["5"]),
        ("medium", {"2", "3", "10", "1040"}, ["5"]),
        ("Large", {"2", "3", "10", "20", "1040"}, ["5"]),
        ("full", {"2", "3", "10", "20", "134", "1040"}, ["5"]),
    ],
)
def test_read_fma_subset_filter(
    fma: tuple[Path, Path], subset: str, ids: set[str], missing: list[str]
) -> None:
    scan = read_fma(*fma, subset=subset)
    assert {t.id for t in scan.tracks} == ids
    assert scan.missing == missing


def test_read_fma_unknown_subset(fma: tuple[Path, Path]) -> None:
    with pytest.raises(ParameterError, match="'tiny'.*small, medium, large, full"):
        read_fma(*fma, subset="tiny")


def test_read_fma_missing_tracks_csv(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="expected .*tracks.csv"):
        read_fma(tmp_path, tmp_path)


def test_read_fma_wrong_format(tmp_path: Path) -> None:
    _write_csv(tmp_path / "tracks.csv", [["path", "label"], ["a.mp3", "rock"]])
    with pytest.raises(ParameterError, match="not FMA's tracks.csv"):
        read_fma(tmp_path, tmp_path)


def test_read_fma_bad_track_id(tmp_path: Path) -> None:
    _write_csv(
        tmp_path / "tracks.csv",
        [_FMA_TOP, _FMA_SUB, _FMA_THIRD, ["abc"] + [""] * (len(_FMA_TOP) - 1)],
    )
    with pytest.raises(ParameterError, match="'abc' is not an integer"):
        read_fma(tmp_path, tmp_path)


# ---------------------------------------------------------------------------------------------
# load_source


def test_load_source_folder(gtzan_folder: Path) -> None:
    assert load_source(gtzan_folder) == scan_folder(gtzan_folder)


def test_load_source_manifest_resolves_against_manifest_folder(tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    _touch(audio / "blues" / "a.wav")
    manifest = _write_csv(tmp_path / "m.csv", [["path", "label"], ["audio/blues/a.wav", "b"]])
    (track,) = load_source(audio, manifest=manifest).tracks
    assert os.path.samefile(track.path, audio / "blues" / "a.wav")
    assert track.id == "audio/blues/a.wav"


def test_load_source_fma(fma: tuple[Path, Path]) -> None:
    metadata, audio = fma
    scan = load_source(audio, fma_metadata=metadata, subset="small")
    assert {t.id for t in scan.tracks} == {"2", "10", "1040"}


def test_load_source_errors(tmp_path: Path, fma: tuple[Path, Path]) -> None:
    metadata, audio = fma
    with pytest.raises(ParameterError, match="no such folder: .*absent"):
        load_source(tmp_path / "absent")
    a_file = _touch(tmp_path / "file.wav")
    with pytest.raises(ParameterError, match="no such folder: .*file.wav"):
        load_source(a_file)
    with pytest.raises(ParameterError, match="pass only one"):
        load_source(audio, manifest=tmp_path / "m.csv", fma_metadata=metadata)
    with pytest.raises(ParameterError, match="no such manifest: .*m.csv"):
        load_source(audio, manifest=tmp_path / "m.csv")
    with pytest.raises(ParameterError, match="expected .*tracks.csv"):
        load_source(audio, fma_metadata=tmp_path / "nothing")
    with pytest.raises(ParameterError, match="'small' applies only to FMA"):
        load_source(audio, subset="small")


def test_load_source_no_audio(tmp_path: Path, fma: tuple[Path, Path]) -> None:
    empty = tmp_path / "empty"
    _touch(empty / "readme.txt")
    with pytest.raises(ParameterError) as info:
        load_source(empty)
    message = str(info.value)
    assert f"no audio files under {empty}" in message
    assert ".wav, .flac" in message and ".opus" in message
    with pytest.raises(ParameterError, match="no audio files under"):
        load_source(empty, fma_metadata=fma[0])
    manifest = _write_csv(tmp_path / "m.csv", [["path"], ["gone.wav"]])
    with pytest.raises(ParameterError, match="no audio files under .*1 listed"):
        load_source(empty, manifest=manifest)
