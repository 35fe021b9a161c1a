"""musicnn and musicnn_tags as registered features: config hash, store layout, opt-in, errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from genrekit.cache.store import FeatureStore
from genrekit.cache.verify import verify_store
from genrekit.errors import StoreError
from genrekit.features import FeatureConfig, compute_features
from genrekit.features.config import ALL_FEATURES, parse_feature_list
from genrekit.features.extract import summary_names
from genrekit.pipeline.extraction.run import extract
from genrekit.pipeline.extraction.sources import load_source
from genrekit.pretrained import musicnn, weights
from genrekit.pretrained.weights import WeightsError
from tests.audio_helpers import tone
from tests.pretrained.conftest import real_prefix


def test_opt_in_and_the_config_hash_names_model_and_weights():
    assert "musicnn" not in ALL_FEATURES and "musicnn_tags" not in ALL_FEATURES
    assert parse_feature_list("all,musicnn") == ALL_FEATURES + ("musicnn",)
    plain = FeatureConfig()
    assert "musicnn_model" not in plain.to_dict() and "cache_keys" not in plain.to_dict()
    assert FeatureConfig(musicnn_model="MSD_musicnn").hash() == plain.hash()  # not selected: not in the key
    mtt = FeatureConfig(features=("mfcc", "musicnn"))
    msd = mtt.replace(musicnn_model="MSD_musicnn")
    assert mtt.hash() != msd.hash()
    assert mtt.to_dict()["cache_keys"]["musicnn"] == f"MTT_musicnn:{weights.MODELS['MTT_musicnn'].digest}"
    assert FeatureConfig.from_json(msd.to_json()) == msd
    with pytest.raises(Exception, match="musicnn_model must be one of MTT_musicnn, MSD_musicnn"):
        FeatureConfig(features=("musicnn",), musicnn_model="MTT_vgg")


def test_tag_columns_are_named_by_tag():
    c = FeatureConfig(features=("musicnn_tags",), musicnn_model="MSD_musicnn")
    names = summary_names(c)
    assert len(names) == 50 * 7 and len(set(names)) == len(names)
    assert "musicnn_tags_hip_hop_mean" in names and "musicnn_tags_female_vocalists_max" in names
    assert summary_names(FeatureConfig(features=("musicnn",)))[0] == "musicnn_00_mean"


def _clips(folder, seconds=(7.0, 1.0)):
    for i, s in enumerate(seconds):
        d = folder / ("a" if i % 2 == 0 else "b")
        d.mkdir(parents=True, exist_ok=True)
        sf.write(d / f"clip{i}.wav", tone(220 * (i + 1), s, 44100, beat_hz=2, seed=i), 44100)
    (folder / "a" / "silence.wav").parent.mkdir(exist_ok=True)
    sf.write(folder / "a" / "silence.wav", np.zeros((44100 * 4, 2), np.float32), 44100)  # stereo silence
    return folder


def test_missing_weights_stop_extraction_before_anything_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("GENREKIT_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    weights.verified_prefix.cache_clear()
    tracks = load_source(_clips(tmp_path / "audio")).tracks
    with pytest.raises(WeightsError, match="model.index is missing; run `genrekit weights fetch`"):
        extract(tracks, tmp_path / "store", FeatureConfig(features=("mfcc", "musicnn")), workers=1, progress=False)
    assert not (tmp_path / "store").exists()
    weights.verified_prefix.cache_clear()


def test_extracted_into_the_store_on_a_grid_of_their_own(tmp_path):
    real_prefix("MTT_musicnn")
    tracks = load_source(_clips(tmp_path / "audio")).tracks
    config = FeatureConfig(features=("mfcc", "musicnn", "musicnn_tags"))
    report = extract(tracks, tmp_path / "store", config, workers=1, progress=False)
    assert report.n_failed == 0, report.failures
    with FeatureStore(tmp_path / "store") as st:
        assert st.frame_groups == {"mfcc": "frames", "musicnn": "frames_patches", "musicnn_tags": "frames_patches"}
        by_name = {r.path.rsplit("/", 1)[-1]: r for r in st.tracks}
        long = st.frames(by_name["clip0.wav"].id)
        assert long["musicnn"].shape == (2, 200) and long["musicnn_tags"].shape == (2, 50)  # 7 s: 2 patches
        assert long["mfcc"].shape[0] == by_name["clip0.wav"].n_frames > 100
        short = st.frames(by_name["clip1.wav"].id, ["musicnn_tags"])
        assert short["musicnn_tags"].shape == (1, 50)  # 1 s: one repeated patch
        assert ((short["musicnn_tags"] > 0) & (short["musicnn_tags"] < 1)).all()
        assert st.frame_matrix(by_name["clip0.wav"].id, ["musicnn", "musicnn_tags"]).shape == (2, 250)
        with pytest.raises(StoreError, match="different frame grids"):
            st.frame_matrix(by_name["clip0.wav"].id, ["mfcc", "musicnn"])
        X, names = st.summary(["musicnn_tags"])
        assert X.shape == (3, 350) and names[0] == "musicnn_tags_guitar_mean"
        # the stored values are the network's on the file's 16 kHz signal
        from genrekit.pipeline.extraction.decode import decode

        y, _ = decode(by_name["clip0.wav"].path, 22050)
        direct = compute_features(y, config)
        np.testing.assert_allclose(long["musicnn"], direct["musicnn"].T, atol=1e-5)
    assert verify_store(tmp_path / "store").ok
    _exports(tmp_path)


def _exports(tmp_path):
    """Frame export: one grid at a time, with that grid's times; the STFT's grid by default."""
    import csv

    from genrekit.errors import ParameterError
    from genrekit.pipeline.tables.export import export_table

    export_table(tmp_path / "store", "csv", tmp_path / "p.csv", level="frames", features=["musicnn_tags"],
                 progress=False)
    with open(tmp_path / "p.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 + 1 + 1  # 7 s: 2 patches; 1 s: 1; the 4-s stereo silence: 1
    assert {round(float(r["time"]), 3) for r in rows} == {0.0, round(256 * 187 / 16000, 3)}
    assert "musicnn_tags_guitar" in rows[0]
    export_table(tmp_path / "store", "csv", tmp_path / "d.csv", level="frames", progress=False)
    with open(tmp_path / "d.csv") as f:
        header = next(csv.reader(f))
    assert "mfcc_00" in header and not any(h.startswith("musicnn") for h in header)
    with pytest.raises(ParameterError, match="different frame grids"):
        export_table(tmp_path / "store", "csv", tmp_path / "m.csv", level="frames", features=["mfcc", "musicnn"],
                     progress=False)


def test_a_head_reading_musicnn_gets_the_patch_rate():
    from genrekit.pipeline.evaluation.jobs import frame_rate_of

    rate = frame_rate_of(FeatureConfig(features=("mfcc", "musicnn")))
    assert rate(None) == rate(("mfcc",)) == 22050 / 512
    assert rate("musicnn,musicnn_tags") == rate(["musicnn"]) == pytest.approx(16000 / (256 * 187))
