"""Human-readable descriptions of a feature store (``genrekit info``)."""

from __future__ import annotations

from collections import Counter

from genrekit.cache.store import FeatureStore


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def describe_store(path, *, failures: bool = False) -> str:
    """A multi-line description: tracks per label, groups, failures, config, size on disk."""
    with FeatureStore(path) as fs:
        cfg = fs.config
        lines = [f"store      {fs.path}",
                 f"tracks     {len(fs.tracks)} in {len(fs.shards)} shards, {_size(fs.size_bytes())} on disk",
                 f"duration   {sum(r.duration for r in fs.tracks) / 3600:.2f} h of audio"]
        labels = Counter(r.label or "(none)" for r in fs.tracks)
        width = max((len(k) for k in labels), default=5)
        lines.append(f"labels     {len(labels)}")
        for k, n in sorted(labels.items()):
            lines.append(f"  {k:<{width}}  {n}")
        tags = Counter(t for r in fs.tracks for t in r.tags)
        if tags:  # what --task tagging reads
            top = ", ".join(f"{t} {n}" for t, n in sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
            lines.append(f"tags       {len(tags)} on {sum(bool(r.tags) for r in fs.tracks)} tracks (most: {top})")
        groups = {r.group for r in fs.tracks if r.group}
        if groups:
            no_group = sum(1 for r in fs.tracks if not r.group)
            lines.append(f"groups     {len(groups)} (artists/albums)" + (f"; {no_group} tracks without one" if no_group else ""))
        else:
            lines.append("groups     none known (benchmarks split by track)")
        splits = Counter(r.split for r in fs.tracks if r.split)
        if splits:
            lines.append("splits     " + ", ".join(f"{k}: {n}" for k, n in sorted(splits.items())))
        lines.append(f"failures   {len(fs.failures)}" + ("" if failures or not fs.failures else "  (list them with --failures)"))
        if failures:
            for f in fs.failures:
                lines.append(f"  {f.path}: {f.error_type}: {f.message}")
        lines.append(f"config     {fs.config_hash}: sr={cfg.sr} n_fft={cfg.n_fft} hop={cfg.hop_length} "
                     f"n_mels={cfg.n_mels} n_mfcc={cfg.n_mfcc}"
                     + (f" offset={cfg.offset}" if cfg.offset else "")
                     + (f" duration={cfg.duration}" if cfg.duration else ""))
        lines.append(f"features   {', '.join(cfg.features)}")
        lines.append(f"summary    {len(fs.summary_names or [])} columns")
        others = sorted(set(fs.index["configs"]) - {fs.config_hash})
        if others:
            lines.append(f"also holds features of {len(others)} other config(s): {', '.join(others)}")
    return "\n".join(lines)
