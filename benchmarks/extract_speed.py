#!/usr/bin/env python
"""How fast is genrekit's feature extraction, how does it scale, and how much memory does it use?

One run, on the same generated clips in a temporary folder, measures:

1. **Per clip** (single process, one BLAS/numba thread; for each clip the fastest of `--repeats` runs
   of every stage, interleaved; the median over clips; after a warm-up clip so
   numba compilation and filterbank construction are not counted):

   (a) *floor*   — genrekit's ``decode()`` (soundfile + downmix + soxr resample) and one STFT
                   magnitude: the least any extractor has to do;
   (b) *genrekit* — ``decode()`` + ``compute_features(y, FeatureConfig())`` (every feature);
   (c) *naive*   — ``librosa.load`` and one librosa call per feature on ``y``, each recomputing its
                   own spectrogram (the way notebooks do it), for the same feature set.

   Ratios (b)/(a) (target <= 1.5) and (c)/(b) (target >= 2).

2. **Throughput scaling** — genrekit's real ``extract()`` (hashing, decoding, features, HDF5
   shards) on ``--scaling-files`` files (byte-distinct copies of the clips, so nothing is cached)
   into fresh stores with ``workers=1`` and ``workers=2``: files/s and their ratio
   (target >= 1.8). The two-worker run is first done with a cold process pool (start-up
   included), then with the pool warm; one and two (warm) workers then alternate ``--repeats``
   times and the fastest run of each counts (every run's files/s is printed too).

3. **Memory** — ``python -m genrekit extract DIR --workers 2 --no-progress`` as a subprocess on
   ``--memory-clips`` files; the summed RSS (and PSS) of the whole process tree (CLI process,
   loky workers, loky's resource tracker) is polled from ``/proc`` every 0.2 s. Reports the peak
   and the RSS as progress passes 25/50/75/100 % (target: peak < 1.5 GB, no growth with files).

Every ratio is against a reference measured in the same run on the same machine.

Run ``python benchmarks/extract_speed.py --help`` for the options; see benchmarks/README.md.
"""

from __future__ import annotations

import os

# One BLAS / OpenMP / numba thread, set before numpy or librosa are imported: the per-clip
# figures are single-threaded and worker processes inherit the same setting.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

#: extension -> (soundfile format, subtype)
FORMATS = {
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
}

TARGETS = {
    "genrekit_over_floor": 1.5,  # at most
    "naive_over_genrekit": 2.0,  # at least
    "scaling_2_over_1": 1.8,  # at least
    "peak_rss_mb": 1536.0,  # below (1.5 GB)
}

POLL_S = 0.2


# ===================================================================================== clips
def _fallback_clip(genre: str, artist: int, take: int, duration: float, sr: int) -> np.ndarray:
    """A simple music-like signal (used only if genrekit.pipeline.datasets.synth is unavailable):
    a chord progression of harmonic tones, a bass line, and kick/hat noise bursts on a beat grid."""
    seed = [sum(genre.encode()), artist, take]
    rng = np.random.default_rng(seed)
    n = int(round(duration * sr))
    t = np.arange(n) / sr
    bpm = 70 + 15 * (sum(genre.encode()) % 7) + 3 * artist + rng.normal(0, 1)
    beat = 60.0 / bpm
    y = np.zeros(n)
    root = 45 + (artist * 5) % 12
    for bar_start in np.arange(0, duration, 4 * beat):
        deg = rng.choice([0, 5, 7, 9])
        i0, i1 = int(bar_start * sr), min(n, int((bar_start + 4 * beat) * sr))
        tt = t[i0:i1] - bar_start
        env = np.exp(-tt * rng.uniform(0.5, 3))
        for iv in (0, 4, 7):
            f = 440 * 2 ** ((root + deg + iv + 12 - 69) / 12)
            for h in range(1, 5):
                y[i0:i1] += env * np.sin(2 * np.pi * f * h * tt) / h * 0.15
        fb = 440 * 2 ** ((root + deg - 12 - 69) / 12)
        y[i0:i1] += env * np.sin(2 * np.pi * fb * tt) * 0.3
    for k, b in enumerate(np.arange(0, duration, beat / 2)):
        i0 = int(b * sr)
        m = min(n - i0, int(0.15 * sr))
        if m <= 0:
            continue
        tt = np.arange(m) / sr
        if k % 2 == 0:  # kick
            y[i0:i0 + m] += np.sin(2 * np.pi * (50 + 80 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 20)
        y[i0:i0 + m] += rng.normal(0, 0.1, m) * np.exp(-tt * 60)  # hat
    y += rng.normal(0, 0.003, n)
    return (0.9 * y / max(1e-9, np.abs(y).max())).astype(np.float32)


def _synth(genre: str, artist: int, take: int, duration: float, sr: int) -> np.ndarray:
    try:
        from genrekit.pipeline.datasets.synth import synth_clip
    except ImportError:
        return _fallback_clip(genre, artist, take, duration, sr)
    return synth_clip(genre, artist, take, duration=duration, sr=sr)


def _genres() -> tuple[str, ...]:
    try:
        from genrekit.pipeline.datasets.synth import GENRES
    except ImportError:
        return ("ambient", "rock", "techno", "hiphop", "waltz", "jazz")
    return tuple(GENRES)


def _render(job: tuple) -> str:
    """Write one stereo clip; runs in a generator process."""
    path, genre, artist, take, seconds, sr, fmt = job
    import soundfile as sf

    y = _synth(genre, artist, take, seconds, sr)
    # Stereo with distinct channels, so the decoder's downmix does real work.
    right = 0.8 * y + 0.2 * np.roll(y, int(0.005 * sr))
    stereo = np.stack([y, right], axis=1).astype(np.float32)
    stereo *= 0.95 / max(1e-9, float(np.abs(stereo).max()))
    fmt_name, subtype = FORMATS[fmt]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, stereo, sr, format=fmt_name, subtype=subtype)
    return path


def make_clips(root: Path, n: int, seconds: float, sr: int, fmt: str, *, start: int = 0) -> list[Path]:
    """``n`` distinct clips under ``root/<genre>/`` (rendered in parallel, one process per core)."""
    genres = _genres()
    jobs = []
    for i in range(start, start + n):
        g = genres[i % len(genres)]
        artist = (i // len(genres)) % 5
        path = root / g / f"{g}-a{artist}-t{i:05d}.{fmt}"
        jobs.append((str(path), g, artist, i, seconds, sr, fmt))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, n)), mp_context=ctx) as ex:
        return [Path(p) for p in ex.map(_render, jobs)]


def make_variant(src: Path, dst: Path, k: int, fmt: str):
    """A copy of ``src`` with different bytes (so a different content hash; nothing is cached).

    MP3: the encoded bytes plus an ID3v1 tag (the standard 128-byte trailer that decoders skip)
    whose title holds ``k`` — re-encoding thousands of MP3s would dominate the run.
    Other formats: the audio rewritten with a gain of ``1 - k * 2**-16`` (a few LSBs).
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "mp3":
        title = f"genrekit bench copy {k}".encode()[:30].ljust(30, b"\0")
        tag = b"TAG" + title + b"\0" * (128 - 3 - 30)
        with open(src, "rb") as f_in, open(dst, "wb") as f_out:
            shutil.copyfileobj(f_in, f_out)
            f_out.write(tag)
    else:
        import soundfile as sf

        data, sr = sf.read(src, dtype="float32", always_2d=True)
        fmt_name, subtype = FORMATS[fmt]
        sf.write(dst, data * np.float32(1 - k * 2.0**-16), sr, format=fmt_name, subtype=subtype)


# ===================================================================================== per clip
def measure_per_clip(clips: list[Path], warmup: Path, seconds: float, profile: bool, repeats: int = 3) -> dict:
    import librosa

    from genrekit.features.config import FeatureConfig
    from genrekit.features.extract import compute_features
    from genrekit.pipeline.extraction.decode import decode

    cfg = FeatureConfig()
    sr, n_fft, hop = cfg.sr, cfg.n_fft, cfg.hop_length

    def decode_only(path):
        return decode(path, sr, offset=cfg.offset, duration=cfg.duration)[0]

    def floor(path):
        y = decode_only(path)
        return np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))

    def genrekit(path):
        y = decode_only(path)
        return compute_features(y, cfg)

    def naive(path):
        y, _ = librosa.load(path, sr=sr)
        kw = dict(n_fft=n_fft, hop_length=hop)
        out = {}
        out["logmel"] = librosa.power_to_db(
            librosa.feature.melspectrogram(y=y, sr=sr, n_mels=cfg.n_mels, **kw), top_db=cfg.top_db)
        out["mfcc"] = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=cfg.n_mfcc, n_mels=cfg.n_mels, **kw)
        out["mfcc_delta"] = librosa.feature.delta(out["mfcc"], width=cfg.delta_width)
        out["mfcc_delta2"] = librosa.feature.delta(out["mfcc"], width=cfg.delta_width, order=2)
        out["chroma"] = librosa.feature.chroma_stft(y=y, sr=sr, tuning=0, **kw)
        out["contrast"] = librosa.feature.spectral_contrast(
            y=y, sr=sr, fmin=cfg.contrast_fmin, n_bands=cfg.n_contrast_bands, **kw)
        out["centroid"] = librosa.feature.spectral_centroid(y=y, sr=sr, **kw)
        out["bandwidth"] = librosa.feature.spectral_bandwidth(y=y, sr=sr, **kw)
        out["rolloff"] = librosa.feature.spectral_rolloff(y=y, sr=sr, roll_percent=cfg.rolloff_percent, **kw)
        out["flatness"] = librosa.feature.spectral_flatness(y=y, **kw)
        out["zcr"] = librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop)
        out["rms"] = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop)
        out["onset"] = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
        out["tempo"] = librosa.feature.tempo(y=y, sr=sr, hop_length=hop)
        out["tempogram_ratio"] = librosa.feature.tempogram_ratio(y=y, sr=sr, hop_length=hop)
        return out

    stages = {
        "decode": ("decode only (info): decode + downmix + resample", decode_only),
        "floor": ("(a) floor: decode + resample + 1 STFT", floor),
        "genrekit": ("(b) genrekit: decode + compute_features", genrekit),
        "naive": ("(c) naive librosa: load + 1 call per feature", naive),
    }

    # Warm-up: numba compilation, filterbanks, FFT plans, imports. Not counted.
    for _, fn in stages.values():
        fn(warmup)
    # The naive run must produce the same feature set, with the same frame count.
    g, nv = genrekit(warmup), naive(warmup)
    assert set(g) == set(nv), (sorted(g), sorted(nv))
    mismatched = [k for k in g if np.shape(g[k])[-1] != np.shape(nv[k])[-1]]

    times = {k: [] for k in stages}
    for path in clips:  # interleaved, so drift affects every stage alike
        best = {k: float("inf") for k in stages}
        for _ in range(repeats):  # the fastest of a few: what the code costs, not what else ran
            for key, (_, fn) in stages.items():
                gc.collect()
                t0 = time.perf_counter()
                fn(path)
                best[key] = min(best[key], time.perf_counter() - t0)
        for key in stages:
            times[key].append(best[key])

    res = {"stages": {}, "n_clips": len(clips), "repeats": repeats, "audio_seconds": seconds,
           "frame_mismatch": mismatched}
    for key, (label, _) in stages.items():
        ts = times[key]
        res["stages"][key] = {
            "label": label,
            "median_ms": 1e3 * statistics.median(ts),
            "min_ms": 1e3 * min(ts),
            "max_ms": 1e3 * max(ts),
            "x_realtime": seconds / statistics.median(ts),
        }
    med = {k: v["median_ms"] for k, v in res["stages"].items()}
    res["genrekit_over_floor"] = med["genrekit"] / med["floor"]
    res["naive_over_genrekit"] = med["naive"] / med["genrekit"]
    res["features_only_ms"] = med["genrekit"] - med["decode"]
    res["stft_only_ms"] = med["floor"] - med["decode"]

    if profile:
        ys = [decode_only(p) for p in clips]
        pr = cProfile.Profile()
        pr.enable()
        for y in ys:
            compute_features(y, cfg)
        pr.disable()
        buf = io.StringIO()
        st = pstats.Stats(pr, stream=buf)
        st.sort_stats("tottime").print_stats(20)
        st.sort_stats("cumulative").print_stats(30)
        res["profile"] = buf.getvalue()
    return res


# ===================================================================================== scaling
def measure_scaling(clips: list[Path], root: Path, work: Path, repeats: int = 3) -> dict:
    from genrekit.pipeline.extraction.run import extract
    from genrekit.pipeline.extraction.worker import keep_freed_memory
    from genrekit.pipeline.extraction.tracks import Track

    keep_freed_memory()  # as `genrekit extract` does in its own process (its workers do it too)

    tracks = [Track(id=p.relative_to(root).as_posix(), path=str(p), label=p.parent.name) for p in clips]
    runs = {}
    # The cold pool once (start-up is paid once); then 1 and 2 workers alternate `repeats` times and
    # the fastest run of each counts, as in the per-clip part.
    order = [("workers=1", 1), ("workers=2 cold pool", 2), ("workers=2 warm pool", 2)]
    order += [("workers=1", 1), ("workers=2 warm pool", 2)] * (repeats - 1)
    for name, workers in order:
        store = work / f"store-{name.replace(' ', '-').replace('=', '')}"
        gc.collect()
        p0, w0 = _self_cpu_s(), _descendants_cpu_s()
        t0 = time.perf_counter()
        rep = extract(tracks, store, workers=workers, progress=False)
        dt = time.perf_counter() - t0
        p1, w1 = _self_cpu_s(), _descendants_cpu_s()
        if rep.n_extracted != len(tracks):
            print(f"  warning: {name}: {rep.line()}", file=sys.stderr)
        run = {"workers": workers, "files": rep.n_extracted, "seconds": dt,
               "files_per_s": rep.n_extracted / dt, "failed": rep.n_failed,
               "parent_cpu_ms_per_file": 1e3 * (p1 - p0) / max(1, rep.n_extracted),
               "worker_cpu_ms_per_file": 1e3 * (w1 - w0) / max(1, rep.n_extracted),
               "cpus_used": ((p1 - p0) + (w1 - w0)) / dt}
        run["all_files_per_s"] = runs.get(name, {}).get("all_files_per_s", []) + [run["files_per_s"]]
        if name not in runs or run["files_per_s"] > runs[name]["files_per_s"]:
            runs[name] = run
        else:
            runs[name]["all_files_per_s"] = run["all_files_per_s"]
        shutil.rmtree(store, ignore_errors=True)
    try:  # free the loky workers before the memory part
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    except Exception:
        pass
    one = runs["workers=1"]["files_per_s"]
    return {
        "runs": runs,
        "scaling_2_over_1": runs["workers=2 warm pool"]["files_per_s"] / one,
        "scaling_2_over_1_cold": runs["workers=2 cold pool"]["files_per_s"] / one,
    }


# ===================================================================================== /proc
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TCK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    """ppid -> child pids, from /proc/*/stat."""
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()  # the command name may hold spaces
        kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def _tree(root: int) -> list[int]:
    kids = _children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def _rss_pss(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/statm") as f:
            rss = int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0, 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
    except OSError:
        pss = rss
    return rss, pss


def _proc_cpu_s(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0.0
    fields = data[data.rfind(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TCK  # utime + stime


def _busy_s() -> float:
    """CPU seconds all CPUs of the machine spent busy (user, nice, system, irq, softirq)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0.0
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / _TCK


def _self_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def _descendants_cpu_s() -> float:
    """CPU seconds of the live descendants of this process (e.g. loky workers)."""
    return sum(_proc_cpu_s(pid) for pid in _tree(os.getpid())[1:])


def _own_cpu_s() -> float:
    """CPU seconds of this process, its reaped children and its live descendants."""
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    return own + sum(_proc_cpu_s(pid) for pid in _tree(os.getpid())[1:])


class LoadMeter:
    """How many CPUs *other* processes kept busy while a phase ran (the machine may be shared)."""

    def __enter__(self):
        self.t0, self.busy0, self.own0 = time.perf_counter(), _busy_s(), _own_cpu_s()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.t0
        other = (_busy_s() - self.busy0) - (_own_cpu_s() - self.own0)
        self.other_cpus = max(0.0, other / wall) if wall > 0 else 0.0
        return False

    def note(self) -> str:
        s = f"  other processes kept {self.other_cpus:.2f} of {os.cpu_count()} CPUs busy during this part"
        if self.other_cpus > 0.15:
            s += "  ** the machine was not idle: these figures are disturbed **"
        return s


# ===================================================================================== memory
def _progress(store: Path, last: tuple) -> tuple:
    """(mtime, files done) from the store's index.json (rewritten after every shard)."""
    p = store / "index.json"
    try:
        m = p.stat().st_mtime_ns
    except OSError:
        return last
    if m == last[0]:
        return last
    try:
        idx = json.loads(p.read_text())
    except (OSError, ValueError):
        return last
    done = sum(len(e.get("ids", ())) + len(e.get("failure_ids", ())) for e in idx.get("shards", {}).values())
    return (m, done)


def measure_memory(audio_dir: Path, n_files: int, work: Path, workers: int = 2) -> dict:
    store = work / "store-memory"
    cmd = [sys.executable, "-m", "genrekit", "extract", str(audio_dir), "--store", str(store),
           "--workers", str(workers), "--no-progress"]
    log = work / "memory-run.log"
    samples = []  # (t, rss, pss, n_procs, done)
    with open(log, "wb") as logf:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)
        prog = (None, 0)
        while True:
            tick = time.perf_counter()
            pids = _tree(proc.pid)
            rss = pss = 0
            for pid in pids:
                r, p = _rss_pss(pid)
                rss += r
                pss += p
            prog = _progress(store, prog)
            if proc.poll() is not None:
                break
            samples.append((tick - t0, rss, pss, len(pids), prog[1]))
            time.sleep(max(0.0, POLL_S - (time.perf_counter() - tick)))
        wall = time.perf_counter() - t0
    prog = _progress(store, prog)
    out_text = log.read_text(errors="replace").strip()
    mb = 1 / 2**20
    peak = max(samples, key=lambda s: s[1])
    res = {
        "command": " ".join(["python", "-m", "genrekit", "extract", "DIR", "--store", "STORE",
                             "--workers", str(workers), "--no-progress"]),
        "returncode": proc.returncode, "files": n_files, "files_done": prog[1], "seconds": wall,
        "files_per_s": prog[1] / wall if wall else 0.0, "n_samples": len(samples),
        "peak_rss_mb": peak[1] * mb, "peak_rss_t": peak[0], "peak_pss_mb": max(s[2] for s in samples) * mb,
        "max_processes": max(s[3] for s in samples), "cli_output": out_text[-2000:], "quarters": [],
    }
    # Per quarter of progress (files written to the store): RSS when the quarter was reached,
    # and the median / peak RSS while the quarter was in progress.
    prev = 0.0
    for q in (0.25, 0.5, 0.75, 1.0):
        lo, hi = prev * n_files, q * n_files
        inside = [s for s in samples if lo <= s[4] < hi or (q == 1.0 and s[4] >= hi)]
        reached = next((s for s in samples if s[4] >= hi), None)
        res["quarters"].append({
            "progress": q,
            "t_reached_s": reached[0] if reached else None,
            "rss_at_mb": reached[1] * mb if reached else (samples[-1][1] * mb if q == 1.0 else None),
            "median_rss_mb": statistics.median(s[1] for s in inside) * mb if inside else None,
            "peak_rss_mb": max(s[1] for s in inside) * mb if inside else None,
            "peak_pss_mb": max(s[2] for s in inside) * mb if inside else None,
        })
        prev = q
    res["store_mb"] = sum(f.stat().st_size for f in store.glob("*")) * mb if store.exists() else 0.0
    shutil.rmtree(store, ignore_errors=True)
    return res


# ===================================================================================== report
def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _fmt(v, spec=".0f"):
    return "-" if v is None else format(v, spec)


def print_per_clip(r: dict, args):
    print(f"\nPer clip: {r['n_clips']} clips of {args.seconds:g} s, {args.format.upper()} "
          f"{args.source_sr} Hz stereo -> 22050 Hz mono; single process, 1 BLAS thread; "
          f"fastest of {r['repeats']} runs per clip, median over clips, after a warm-up clip")
    print(f"  {'stage':<50} {'median ms':>10} {'min':>8} {'max':>8} {'x realtime':>11}")
    for s in r["stages"].values():
        print(f"  {s['label']:<50} {s['median_ms']:>10.1f} {s['min_ms']:>8.1f} {s['max_ms']:>8.1f} "
              f"{s['x_realtime']:>11.0f}")
    print(f"  (derived: one STFT {r['stft_only_ms']:.1f} ms; all genrekit features "
          f"{r['features_only_ms']:.1f} ms on top of decoding)")
    if r["frame_mismatch"]:
        print(f"  note: frame counts of genrekit and naive differ for {r['frame_mismatch']}")
    a, c = r["genrekit_over_floor"], r["naive_over_genrekit"]
    print("  ratios against a reference measured in the same run:")
    print(f"    (b)/(a) genrekit / floor         = {a:5.2f}   target <= {TARGETS['genrekit_over_floor']}"
          f"   {_verdict(a <= TARGETS['genrekit_over_floor'])}")
    print(f"    (c)/(b) naive librosa / genrekit = {c:5.2f}   target >= {TARGETS['naive_over_genrekit']}"
          f"   {_verdict(c >= TARGETS['naive_over_genrekit'])}")


def print_scaling(r: dict, n: int):
    print(f"\nThroughput: genrekit.pipeline.extraction.run.extract() on {n} files into fresh stores "
          f"(hash + decode + features + HDF5 shards), {os.cpu_count()} CPUs")
    print(f"  {'run':<22} {'files':>6} {'seconds':>9} {'files/s':>9} {'parent CPU ms/file':>19} "
          f"{'worker CPU ms/file':>19} {'CPUs used':>10}")
    for name, s in r["runs"].items():
        print(f"  {name:<22} {s['files']:>6} {s['seconds']:>9.2f} {s['files_per_s']:>9.2f} "
              f"{s['parent_cpu_ms_per_file']:>19.0f} {s['worker_cpu_ms_per_file']:>19.0f} {s['cpus_used']:>10.2f}")
    every = {k: " ".join(f"{x:.1f}" for x in s["all_files_per_s"]) for k, s in r["runs"].items()
             if len(s["all_files_per_s"]) > 1}
    if every:
        print("  (the fastest run of each is shown; files/s of every run: "
              + "; ".join(f"{k}: {v}" for k, v in every.items()) + ")")
    w, c = r["scaling_2_over_1"], r["scaling_2_over_1_cold"]
    print("  ratio against workers=1 measured in the same run:")
    print(f"    workers=2 / workers=1 (warm pool) = {w:4.2f}   target >= {TARGETS['scaling_2_over_1']}"
          f"   {_verdict(w >= TARGETS['scaling_2_over_1'])}")
    print(f"    workers=2 / workers=1 (cold pool, start-up included) = {c:4.2f}")


def print_memory(r: dict, args, distinct: int):
    print(f"\nMemory: `{r['command']}` on {r['files']} files of {args.memory_seconds:g} s "
          f"({distinct} distinct renders, the rest byte-distinct copies)")
    print(f"  exit code {r['returncode']}; {r['files_done']} files in {r['seconds']:.1f} s "
          f"({r['files_per_s']:.2f} files/s); {r['n_samples']} samples every {POLL_S} s; "
          f"up to {r['max_processes']} processes in the tree")
    print(f"  {'progress':>8} {'reached at s':>13} {'RSS then MB':>12} {'median RSS MB':>14} "
          f"{'peak RSS MB':>12} {'peak PSS MB':>12}   (median/peak: while that quarter ran)")
    for q in r["quarters"]:
        print(f"  {q['progress']:>8.0%} {_fmt(q['t_reached_s'], '.1f'):>13} {_fmt(q['rss_at_mb']):>12} "
              f"{_fmt(q['median_rss_mb']):>14} {_fmt(q['peak_rss_mb']):>12} {_fmt(q['peak_pss_mb']):>12}")
    p = r["peak_rss_mb"]
    print(f"  peak RSS of the process tree {p:.0f} MB at {r['peak_rss_t']:.1f} s (PSS peak "
          f"{r['peak_pss_mb']:.0f} MB)   target < {TARGETS['peak_rss_mb']:.0f} MB   "
          f"{_verdict(p < TARGETS['peak_rss_mb'])}")
    print(f"  store size {r['store_mb']:.0f} MB; CLI said: {r['cli_output'].splitlines()[-1] if r['cli_output'] else ''}")


# ===================================================================================== main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--clips", type=int, default=40, help="clips for the per-clip and scaling parts")
    ap.add_argument("--seconds", type=float, default=30.0, help="length of each clip (s)")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs of every stage per clip (per-clip part) and of each worker count (throughput "
                         "part); the fastest counts (default: 3)")
    ap.add_argument("--format", choices=sorted(FORMATS), default="mp3", help="file format of the clips")
    ap.add_argument("--source-sr", type=int, default=44100, help="sample rate the clips are written at")
    ap.add_argument("--scaling-files", type=int, default=160,
                    help="files per run in the throughput part (byte-distinct copies of the clips)")
    ap.add_argument("--memory-clips", type=int, default=2000, help="files for the memory part")
    ap.add_argument("--memory-seconds", type=float, default=30.0, help="length of the memory-part clips (s)")
    ap.add_argument("--memory-distinct", type=int, default=40,
                    help="distinct renders for the memory part; the other files are byte-distinct copies")
    ap.add_argument("--skip-memory", action="store_true", help="skip the memory part")
    ap.add_argument("--skip-scaling", action="store_true", help="skip the throughput part")
    ap.add_argument("--profile", action="store_true", help="also cProfile compute_features over the clips")
    ap.add_argument("--tmp-dir", default=None, help="parent folder of the temporary working folder")
    ap.add_argument("--out-json", default=None, metavar="PATH", help="also write every figure as JSON")
    args = ap.parse_args(argv)
    if min(args.clips, args.memory_clips, args.memory_distinct, args.repeats, args.scaling_files) < 1:
        ap.error("--clips, --scaling-files, --memory-clips, --memory-distinct and --repeats must be >= 1")

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass

    import genrekit

    results = {"python": platform.python_version(), "machine": platform.machine(),
               "cpus": os.cpu_count(), "genrekit": genrekit.__version__, "args": vars(args)}
    print(f"genrekit {genrekit.__version__}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="genrekit-bench-", dir=args.tmp_dir) as tmp:
        work = Path(tmp)
        clip_root = work / "clips"
        t0 = time.perf_counter()
        warmup = make_clips(work / "warmup", 1, args.seconds, args.source_sr, args.format, start=10**4)[0]
        clips = make_clips(clip_root, args.clips, args.seconds, args.source_sr, args.format)
        print(f"generated {args.clips} + 1 warm-up clips ({args.seconds:g} s, {args.format}) "
              f"in {time.perf_counter() - t0:.1f} s")

        with LoadMeter() as load:
            r = measure_per_clip(clips, warmup, args.seconds, args.profile, args.repeats)
        r["other_cpus_busy"] = load.other_cpus
        results["per_clip"] = r
        print_per_clip(r, args)
        print(load.note())
        if args.profile:
            print("\ncProfile of compute_features over the clips (decoding excluded):")
            print(r["profile"])

        if not args.skip_scaling:
            # More files than clips (byte-distinct copies): runs long enough to measure steady
            # throughput rather than pool dispatch and the last files of a run.
            scale_root = work / "scaling"
            scale_files = []
            for k in range(args.scaling_files):
                src = clips[k % len(clips)]
                dst = scale_root / src.relative_to(clip_root).with_name(f"{src.stem}-s{k:05d}{src.suffix}")
                make_variant(src, dst, k + 1, args.format)
                scale_files.append(dst)
            with LoadMeter() as load:
                r = measure_scaling(scale_files, scale_root, work, args.repeats)
            r["other_cpus_busy"] = load.other_cpus
            results["scaling"] = r
            print_scaling(r, len(scale_files))
            print(load.note())

        if not args.skip_memory:
            t0 = time.perf_counter()
            mem_root = work / "memory"
            n_distinct = min(args.memory_distinct, args.memory_clips)
            if args.memory_seconds == args.seconds:
                distinct = [mem_root / p.relative_to(clip_root) for p in clips[:n_distinct]]
                for src, dst in zip(clips, distinct):
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)
                if len(distinct) < n_distinct:
                    distinct += make_clips(mem_root, n_distinct - len(distinct), args.memory_seconds,
                                           args.source_sr, args.format, start=len(distinct))
            else:
                distinct = make_clips(mem_root, n_distinct, args.memory_seconds, args.source_sr, args.format)
            for k in range(args.memory_clips - n_distinct):
                src = distinct[k % n_distinct]
                dst = src.with_name(f"{src.stem}-copy{k:05d}{src.suffix}")
                make_variant(src, dst, k + 1, args.format)
            print(f"\nprepared {args.memory_clips} memory-part files in {time.perf_counter() - t0:.1f} s")
            with LoadMeter() as load:
                r = measure_memory(mem_root, args.memory_clips, work)
            r["other_cpus_busy"] = load.other_cpus
            results["memory"] = r
            print_memory(r, args, n_distinct)
            print(load.note())

    if args.out_json:
        Path(args.out_json).write_text(json.dumps(results, indent=2, default=str))
        print(f"\nwrote {args.out_json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
