"""One file per trained model: the estimator and everything needed to apply it to new audio.

An artifact holds the fitted estimator (its whole pipeline, scaler included), the
:class:`~genrekit.features.FeatureConfig` it was trained on (as JSON), the class names, what the
model reads (summary columns or frame features, in order) and the genrekit version.

A model artifact is code: unpickling the estimator can run anything. So the file is laid out to
be recognised and checked *before* a single byte of pickle is read::

    MAGIC        16 bytes  b"\\x89GENREKIT-MODEL\\n" (not text, not a pickle, not a joblib stream)
    MAC          32 bytes  HMAC-SHA256 under the saver's genrekit key of MAGIC + LENGTH + MANIFEST
    LENGTH        4 bytes  big-endian length of MANIFEST (at most 1 MiB)
    MANIFEST     JSON (UTF-8): format, format_version, genrekit_version, model, classes, input,
                 columns, frame_features, config_json, params, trained_on, saved_unix, key_id,
                 task ("genre" when absent), thresholds (tagging: one per tag),
                 payload {encoding: "joblib", size, sha256}
    PAYLOAD      the estimator, ``joblib.dump(..., compress=3)``

:func:`load_artifact` reads the header, checks the format, the payload's size and SHA-256 and the
MAC under the user's key, and unpickles only when every check passed. The key is a random secret
made on the first save (``$GENREKIT_MODEL_KEY``, else ``$XDG_CONFIG_HOME/genrekit/model-key``, else
``~/.config/genrekit/model-key``; mode 0600), so only artifacts saved by this user — or by someone
sharing the key file — are unpickled; ``trust=True`` (``predict --trust``) loads an intact artifact
saved under another key. Files of the old format (a plain joblib pickle) are refused: they cannot
be checked without running them. The file is written under a temporary name, fsynced and renamed
into place; a failed write (a full disk) leaves nothing behind.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import io
import json
import os
import secrets
import stat
import struct
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from genrekit import __version__
from genrekit.errors import GenrekitError, ParameterError
from genrekit.files import fsync_dir

FORMAT = "genrekit-model"
FORMAT_VERSION = 2
SUFFIX = ".joblib"
MAGIC = b"\x89GENREKIT-MODEL\n"
MAC_SIZE = 32
MAX_MANIFEST = 1 << 20
KEY_ENV = "GENREKIT_MODEL_KEY"
_HEAD = len(MAGIC) + MAC_SIZE + 4
#: How the file of a plain pickle or joblib dump begins (genrekit's first model format, or anyone's).
_PICKLE_STARTS = (b"\x80", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x1f\x8b", b"BZh",
                  b"\xfd7zXZ\x00", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")
_SAVE_HINT = "pass a file written by `genrekit benchmark --save-models`"


class ArtifactVersionWarning(UserWarning):
    """An artifact saved by another genrekit version was loaded (it may behave differently)."""


class ArtifactTrustWarning(UserWarning):
    """An artifact saved under another genrekit key was loaded because the caller trusts it."""


class ArtifactWriteError(GenrekitError):
    """Saving an artifact failed (a full disk, no permission); no partial file was left.

    ``errno`` is the operating system's error number (``errno.ENOSPC`` for a full disk).
    """

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


@dataclass
class ModelArtifact:
    """A trained model ready for :func:`genrekit.pipeline.prediction.predict.predict`.

    Attributes
    ----------
    model : str
        Registry name (``svm``, ``gmm-frames``, …).
    estimator : fitted estimator
        Predicts class indices into ``classes``.
    config_json : str
        The feature config the training features were computed with.
    classes : list of str
        Class names; the estimator's ``classes_`` are indices into this list.
    input : {"summary", "frames"}
    columns : list of str or None
        Summary columns the model reads, in order (``input="summary"``).
    frame_features : list of str or None
        Frame features stacked side by side, in order (``input="frames"``).
    params : dict
        Hyper-parameters given with ``--param`` (and chosen by ``--tune``).
    genrekit_version : str
    trained_on : dict
        Provenance: store path, config hash, number of tracks, split, seed, time.
    task : {"genre", "tagging"}
        ``tagging``: ``classes`` are tags and the estimator gives one probability per tag.
    thresholds : list of float or None
        Tagging: each tag's decision threshold (chosen on the training tracks only).
    """

    model: str
    estimator: object
    config_json: str
    classes: list
    input: str = "summary"
    columns: list | None = None
    frame_features: list | None = None
    params: dict = field(default_factory=dict)
    genrekit_version: str = __version__
    trained_on: dict = field(default_factory=dict)
    task: str = "genre"
    thresholds: list | None = None

    @property
    def config(self):
        """The :class:`~genrekit.features.FeatureConfig` to extract new audio with."""
        from genrekit.features.config import FeatureConfig

        return FeatureConfig.from_json(self.config_json)

    def manifest(self) -> dict:
        """Everything but the estimator, as the artifact's JSON header holds it."""
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "genrekit_version": self.genrekit_version,
            "model": self.model, "classes": [str(c) for c in self.classes], "input": self.input,
            "columns": None if self.columns is None else list(self.columns),
            "frame_features": None if self.frame_features is None else list(self.frame_features),
            "config_json": self.config_json, "params": dict(self.params), "trained_on": dict(self.trained_on),
            "saved_unix": time.time(), "task": self.task,
            "thresholds": None if self.thresholds is None else [float(t) for t in self.thresholds],
        }


# ====================================================================================== the key
def key_path() -> Path:
    """Where this user's genrekit model key lives: ``$GENREKIT_MODEL_KEY``, else
    ``$XDG_CONFIG_HOME/genrekit/model-key``, else ``~/.config/genrekit/model-key``."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "genrekit" / "model-key"


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key (names it in messages; reveals nothing of it)."""
    return hashlib.sha256(b"genrekit-model-key-id\0" + key).hexdigest()[:16]


def _read_key(p: Path) -> bytes:
    """The key in ``p`` (FileNotFoundError when there is none); refuses one others may read or change."""
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ParameterError(f"genrekit's model key {p} is not a regular file; set {KEY_ENV}=FILE to a key file")
        if st.st_mode & 0o026:
            raise ParameterError(f"genrekit's model key {p} can be changed or read by other users (mode "
                                 f"{stat.S_IMODE(st.st_mode):04o}), who could then make model artifacts this "
                                 f"account loads: chmod 600 {p}")
        text = p.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ParameterError(f"cannot read genrekit's model key {p} ({e.strerror or e})") from None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) < 16:
        raise ParameterError(f"genrekit's model key {p} is not a key (expected at least 32 hex digits); "
                             f"move it away and save a model again to make a new one")
    return key


def _user_key(*, create: bool) -> bytes | None:
    """This user's key; made (random, mode 0600) when absent and ``create``; None when absent."""
    p = key_path()
    try:
        return _read_key(p)
    except FileNotFoundError:
        if not create:
            return None
    try:
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                os.write(fd, (secrets.token_hex(32) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, p)  # never replaces a key another process made meanwhile
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(p.parent)
    except OSError as e:
        raise ArtifactWriteError(f"cannot create genrekit's model key {p} ({e.strerror or e}); set "
                                 f"{KEY_ENV}=FILE to keep it elsewhere", e.errno) from e
    return _read_key(p)


def _mac(key: bytes, signed: bytes) -> bytes:
    return hmac.new(key, signed, hashlib.sha256).digest()


# ====================================================================================== writing
def _json_value(o):
    """JSON for values ``--param``/``--tune`` may hold (numpy scalars, tuples, …)."""
    item = getattr(o, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    if isinstance(o, (set, frozenset)):
        return sorted(o, key=repr)
    return repr(o)


def _write_atomically(path: Path, chunks):
    """Write ``chunks`` to ``path``: temporary name, fsync, rename; on any failure nothing is left."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def save_artifact(artifact: ModelArtifact, path) -> Path:
    """Write ``artifact`` to ``path`` (atomically: temporary name, fsync, then rename).

    The estimator is serialised in memory first, so a full disk fails in a plain write and
    leaves no partial file. The header is signed with this user's key (made on the first save,
    see :func:`key_path`).

    Parameters
    ----------
    artifact : ModelArtifact
    path : path-like
        Target file; ``.joblib`` is appended when it has no suffix. Parent folders are created.

    Returns
    -------
    Path
        Where it was written.

    Raises
    ------
    ArtifactWriteError
        The file (or the key) could not be written — ``errno`` says why (``ENOSPC``: disk full).
    """
    import joblib

    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(SUFFIX)
    buf = io.BytesIO()
    joblib.dump(artifact.estimator, buf, compress=3)
    payload = buf.getbuffer()
    key = _user_key(create=True)
    manifest = dict(artifact.manifest(), key_id=key_id(key),
                    payload={"encoding": "joblib", "size": len(payload),
                             "sha256": hashlib.sha256(payload).hexdigest()})
    body = json.dumps(manifest, default=_json_value, ensure_ascii=True).encode()
    if len(body) > MAX_MANIFEST:
        raise ParameterError(f"the artifact's header would be {len(body)} bytes, more than {MAX_MANIFEST}; "
                             f"its params or provenance are too large")
    signed = MAGIC + struct.pack(">I", len(body)) + body
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(path, [MAGIC, _mac(key, signed), signed[len(MAGIC):], payload])
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ArtifactWriteError(f"disk full while saving the model artifact {path}: nothing was written; "
                                     f"free space and run again", e.errno) from e
        raise ArtifactWriteError(f"cannot save the model artifact {path}: {e.strerror or e}", e.errno) from e
    return path


# ====================================================================================== reading
def _refuse(path, why: str):
    raise ParameterError(f"{path} {why}")


def _read_header(path: Path, f) -> tuple[dict, bytes, bytes]:
    """``(manifest, mac, signed bytes)`` of an open artifact, or a one-line ParameterError."""
    head = f.read(_HEAD)
    if not head:
        _refuse(path, f"is empty (0 bytes), not a genrekit model artifact; {_SAVE_HINT}")
    if head[:len(MAGIC)] != MAGIC[:len(head)]:
        if any(head.startswith(s) for s in _PICKLE_STARTS):
            _refuse(path, "is not a genrekit model artifact of this version: it is a plain pickle/joblib file "
                          "(genrekit's old model format, or not genrekit's at all), and loading one runs the code "
                          "inside it, so it is not loaded; re-save the model: retrain with "
                          "`genrekit benchmark --save-models`")
        _refuse(path, f"is not a readable genrekit model artifact (it does not start with genrekit's header); "
                      f"{_SAVE_HINT}")
    if len(head) < _HEAD:
        _refuse(path, "is truncated: its genrekit header is incomplete; save or copy it again")
    mac = head[len(MAGIC):len(MAGIC) + MAC_SIZE]
    (n,) = struct.unpack(">I", head[-4:])
    if n > MAX_MANIFEST:
        _refuse(path, f"has a damaged genrekit header (it claims {n} bytes of manifest); save or copy it again")
    body = f.read(n)
    if len(body) < n:
        _refuse(path, "is truncated: its genrekit header is incomplete; save or copy it again")
    try:
        manifest = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        _refuse(path, "has a damaged genrekit header (its manifest is not readable); save or copy it again")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        _refuse(path, f"uses artifact format {version}, newer than this genrekit ({__version__}) reads; "
                      f"upgrade genrekit")
    payload = manifest.get("payload")
    if (not isinstance(payload, dict) or payload.get("encoding") != "joblib"
            or not isinstance(payload.get("size"), int) or not isinstance(payload.get("sha256"), str)):
        _refuse(path, "has a damaged genrekit header (no payload size and SHA-256); save or copy it again")
    return manifest, mac, MAGIC + head[-4:] + body


def read_manifest(path) -> dict:
    """The JSON manifest of an artifact (model, classes, feature config, versions, payload hash),
    read without unpickling anything and without checking the payload or the key."""
    path = Path(path)
    _check_exists(path)
    with open(path, "rb") as f:
        return _read_header(path, f)[0]


def _check_exists(path: Path):
    if not path.exists():
        raise ParameterError(f"no model artifact at {path}; create one with "
                             "`genrekit benchmark --save-models` (it writes OUT/models/<model>.joblib)")
    if not path.is_file():
        raise ParameterError(f"{path} is not a regular file; {_SAVE_HINT}")


def _check_key(path: Path, manifest: dict, mac: bytes, signed: bytes, trust: bool):
    key = _user_key(create=False)
    if key is not None and hmac.compare_digest(mac, _mac(key, signed)):
        return
    theirs = str(manifest.get("key_id") or "unknown")
    if key is not None and theirs == key_id(key):
        _refuse(path, "was altered after it was saved: its header's signature does not match your genrekit "
                      "key; nothing was loaded")
    if trust:
        warnings.warn(f"{path.name} was not saved with your genrekit key (it names key {theirs}); loaded because "
                      f"you trust it (--trust)", ArtifactTrustWarning, stacklevel=3)
        return
    mine = f"key {key_id(key)} in {key_path()}" if key is not None else f"no key yet ({key_path()})"
    _refuse(path, f"was saved with another genrekit key ({theirs}; you have {mine}); a model artifact runs "
                  f"code when loaded, so only yours are: if you trust whoever saved it, pass --trust, or "
                  f"share their key file ({KEY_ENV}=FILE)")


def load_artifact(path, *, trust: bool = False) -> ModelArtifact:
    """Read an artifact written by :func:`save_artifact`; unpickle it only once it is known.

    Checks, before anything is unpickled: genrekit's header, the format version, the payload's
    size and SHA-256, and the header's HMAC under this user's key. Warns
    (:class:`ArtifactVersionWarning`) when it was saved by another genrekit version.

    Parameters
    ----------
    path : path-like
    trust : bool
        Also load an intact artifact saved under another key (warns
        :class:`ArtifactTrustWarning`). It runs whatever that artifact's pickle holds: pass it only
        for files from someone you trust.

    Raises
    ------
    ParameterError
        When ``path`` does not exist, is not a genrekit model artifact of this format (a plain
        pickle or joblib file included), is damaged or altered, or was saved under another key
        (without ``trust``). The message is one line that says which.
    """
    import joblib

    path = Path(path)
    _check_exists(path)
    try:
        with open(path, "rb") as f:
            manifest, mac, signed = _read_header(path, f)
            size = manifest["payload"]["size"]
            payload = f.read(size)
            extra = f.read(1)
    except OSError as e:
        raise ParameterError(f"cannot read the model artifact {path}: {e.strerror or e}") from None
    if len(payload) != size or extra:
        _refuse(path, f"is {'truncated' if len(payload) < size else 'longer than its header says'}: its model "
                      f"should be {size} bytes; save or copy it again")
    if not hmac.compare_digest(hashlib.sha256(payload).hexdigest(), manifest["payload"]["sha256"]):
        _refuse(path, "is damaged or altered: its model bytes do not match the SHA-256 in its header; "
                      "nothing was loaded")
    _check_key(path, manifest, mac, signed, trust)
    try:
        estimator = joblib.load(io.BytesIO(payload))
    except GenrekitError:
        raise
    except Exception as e:
        raise ParameterError(f"{path}: its model could not be loaded ({type(e).__name__}: {e}); retrain it with "
                             f"this genrekit's `genrekit benchmark --save-models`") from None
    saved = str(manifest.get("genrekit_version", "unknown"))
    if saved != __version__:
        warnings.warn(f"{path.name} was saved by genrekit {saved} and is loaded by genrekit {__version__}; "
                      "predictions may differ — retrain with `genrekit benchmark --save-models` to be sure",
                      ArtifactVersionWarning, stacklevel=2)
    return ModelArtifact(
        model=manifest["model"], estimator=estimator, config_json=manifest["config_json"],
        classes=list(manifest["classes"]), input=manifest.get("input", "summary"),
        columns=manifest.get("columns"), frame_features=manifest.get("frame_features"),
        params=manifest.get("params") or {}, genrekit_version=saved, trained_on=manifest.get("trained_on") or {},
        task=manifest.get("task", "genre"), thresholds=manifest.get("thresholds"))
