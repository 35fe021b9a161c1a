"""musicnn's pretrained weights: where they live, how they are fetched, and that they are intact.

The checkpoints ship inside the ``musicnn`` 0.1.0 wheel on PyPI (ISC licence). genrekit never
installs musicnn's code: ``genrekit weights fetch`` runs ``pip download --no-deps musicnn==0.1.0``
into a temporary folder (or takes a wheel or folder the user already has, ``--from``), copies the
files of each model into the weights folder under a real checkpoint prefix, and checks every file's
SHA-256 against the values recorded here. Loading checks them again (once per process), so a
missing, partial or altered file is a one-line :class:`WeightsError` naming the command that fixes it.

Weights folder: ``$GENREKIT_WEIGHTS_DIR``, else ``$GENREKIT_CACHE_DIR/weights``, else
``$XDG_CACHE_HOME/genrekit/weights``, else ``~/.cache/genrekit/weights``; each model in
``musicnn-0.1.0/<MODEL>/model.index`` and ``model.data-00000-of-00001``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from genrekit.errors import GenrekitError
from genrekit.files import atomic_write, file_sha256

DISTRIBUTION = "musicnn==0.1.0"
RELEASE = "musicnn-0.1.0"
FETCH_HINT = "run `genrekit weights fetch` (or `genrekit weights fetch --from musicnn-0.1.0-py3-none-any.whl`)"


class WeightsError(GenrekitError):
    """Pretrained weights that are missing, partial or corrupt (the message names the fix)."""


@dataclass(frozen=True)
class ModelFiles:
    """One pretrained model: its name, the files in the musicnn package, and their SHA-256."""

    name: str
    sha256: dict[str, str]  # our file name -> digest

    #: our file name -> its name inside the musicnn package folder of this model
    SOURCES = {"model.index": ".index", "model.data-00000-of-00001": ".data-00000-of-00001"}

    @property
    def digest(self) -> str:
        """One short fingerprint of the model's files (part of the feature config hash)."""
        import hashlib

        joined = "".join(f"{k}={v};" for k, v in sorted(self.sha256.items()))
        return hashlib.sha256(joined.encode()).hexdigest()[:16]


MODELS = {
    "MTT_musicnn": ModelFiles("MTT_musicnn", {
        "model.index": "da2d7bb670b2b31e9bc441bb1bd75eca31b5b061f963cc1f9630c1aff3238f57",
        "model.data-00000-of-00001": "041f3935e981a65cea739842d30c188d3a7d2adf4410955c8668eb3de4a5acab"}),
    "MSD_musicnn": ModelFiles("MSD_musicnn", {
        "model.index": "87f3e0f3550c8d3bafc840374003e5c8af5eeb5ecf6add61af09a7822d3282c8",
        "model.data-00000-of-00001": "8579734ee6388f799ed0def4bbd0d1fdcbeaf213ef2a9dc860917bd76a303de6"}),
}


def model_files(model: str) -> ModelFiles:
    try:
        return MODELS[model]
    except KeyError:
        raise WeightsError(f"unknown musicnn model {model!r}; choose one of {', '.join(MODELS)}") from None


def weights_dir() -> Path:
    """The folder holding every release's weights (see the module docstring)."""
    env = os.environ.get("GENREKIT_WEIGHTS_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("GENREKIT_CACHE_DIR")
    if cache:
        return Path(cache).expanduser() / "weights"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "genrekit" / "weights"


def model_dir(model: str, root: Path | None = None) -> Path:
    return Path(root or weights_dir()) / RELEASE / model_files(model).name


def checkpoint_prefix(model: str, root: Path | None = None) -> str:
    """The checkpoint prefix of ``model`` (files ``PREFIX.index``, ``PREFIX.data-00000-of-00001``)."""
    return str(model_dir(model, root) / "model")


def problems(model: str, root: Path | None = None) -> list[str]:
    """What is wrong with ``model``'s files: one phrase per missing or altered file (empty: intact)."""
    spec, folder = model_files(model), model_dir(model, root)
    out = []
    for name, digest in spec.sha256.items():
        path = folder / name
        if not path.is_file():
            out.append(f"{name} is missing")
        elif file_sha256(path) != digest:
            out.append(f"{name} is corrupt (SHA-256 differs)")
    return out


def verify(model: str, root: Path | None = None) -> str:
    """The checkpoint prefix of ``model`` after checking its files; :class:`WeightsError` if not intact."""
    wrong = problems(model, root)
    if wrong:
        raise WeightsError(f"musicnn weights {model} in {model_dir(model, root)}: {wrong[0]}; {FETCH_HINT}")
    return checkpoint_prefix(model, root)


@functools.lru_cache(maxsize=8)
def verified_prefix(model: str, root: str | None = None) -> str:
    """:func:`verify`, done once per process and folder (hashing 9 MB costs ~20 ms)."""
    return verify(model, Path(root) if root else None)


# ------------------------------------------------------------------------------------ fetching
def _download_wheel(dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
           DISTRIBUTION, "-d", str(dest), "-q"]
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        detail = (getattr(e, "stderr", "") or str(e)).strip().splitlines()
        raise WeightsError(f"`pip download {DISTRIBUTION}` failed ({detail[-1] if detail else e}); "
                           "download the wheel elsewhere and run `genrekit weights fetch --from WHEEL`") from None
    wheels = sorted(dest.glob("musicnn-*.whl"))
    if not wheels:
        raise WeightsError(f"`pip download {DISTRIBUTION}` gave no wheel in {dest}")
    return wheels[0]


def _copy_from_wheel(wheel: Path, model: str, folder: Path) -> None:
    try:
        with zipfile.ZipFile(wheel) as z:
            for ours, theirs in ModelFiles.SOURCES.items():
                member = f"musicnn/{model}/{theirs}"
                try:
                    src = z.open(member)
                except KeyError:
                    raise WeightsError(f"{wheel} holds no {member}; is it the musicnn 0.1.0 wheel?") from None
                with src, atomic_write(folder / ours, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    except zipfile.BadZipFile:
        raise WeightsError(f"{wheel} is not a wheel (zip) file; give the musicnn 0.1.0 wheel or its folder") from None


def _copy_from_dir(src: Path, model: str, folder: Path) -> None:
    base = next((d for d in (src / model, src / "musicnn" / model, src) if (d / ".index").is_file()), None)
    if base is None:
        raise WeightsError(f"{src} holds no {model}/.index; give the musicnn package folder or its wheel")
    for ours, theirs in ModelFiles.SOURCES.items():
        with open(base / theirs, "rb") as f, atomic_write(folder / ours, "wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)


def fetch(models=tuple(MODELS), *, source: str | os.PathLike | None = None, root: Path | None = None,
          out=print) -> list[str]:
    """Put ``models``' verified files in the weights folder; return their checkpoint prefixes.

    ``source``: a musicnn wheel or a folder (the installed ``musicnn`` package folder, or one
    holding ``<MODEL>/.index``); None downloads the wheel with pip. Models already intact are
    left alone. Raises :class:`WeightsError` (files copied but not matching are removed).
    """
    todo = [m for m in models if problems(m, root)]
    prefixes = [checkpoint_prefix(m, root) for m in models]
    if not todo:
        out(f"musicnn weights present and verified: {', '.join(models)} in {Path(root or weights_dir()) / RELEASE}")
        return prefixes
    with tempfile.TemporaryDirectory(prefix="genrekit-weights-") as tmp:
        if source is None:
            out(f"downloading {DISTRIBUTION} (29 MB, weights only, no code installed) …")
            src = _download_wheel(Path(tmp))
        else:
            src = Path(source).expanduser()
            if not src.exists():
                raise WeightsError(f"{src} does not exist; give the musicnn wheel or package folder")
        for m in todo:
            folder = model_dir(m, root)
            folder.mkdir(parents=True, exist_ok=True)
            (_copy_from_dir if src.is_dir() else _copy_from_wheel)(src, m, folder)
            wrong = problems(m, root)
            if wrong:
                for name in ModelFiles.SOURCES:
                    (folder / name).unlink(missing_ok=True)
                raise WeightsError(f"{m} from {src}: {wrong[0]}; it is not the musicnn 0.1.0 release")
            out(f"{m}: verified, in {folder}")
    verified_prefix.cache_clear()
    return prefixes
