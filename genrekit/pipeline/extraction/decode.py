"""Decode one audio file into the mono float32 signal the features expect."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat

import numpy as np

from genrekit.errors import AudioError

#: Frames read per block: decoding, downmix and resampling stream block by block, so memory stays
#: bounded by the output signal, not by the source's channels and sample rate.
BLOCK_FRAMES = 1 << 16


def downmix(block: np.ndarray) -> np.ndarray:
    """Mean of the channels of a ``(frames, channels)`` float32 block, as a new mono array.

    The same float32 sums in the same order as ``block.mean(axis=1)`` (bit-identical up to 7
    channels; numpy sums 8 or more pairwise), but one vectorised add per channel instead of a
    reduction over a short axis, which is ~30× slower for stereo.
    """
    mono = block[:, 0].copy()
    for c in range(1, block.shape[1]):
        mono += block[:, c]
    if block.shape[1] > 1:
        mono /= np.float32(block.shape[1])
    return mono


class _Signal:
    """The output signal, written block by block into one array sized for the expected length
    (grown if a file holds more): never a list of blocks and their concatenated copy at once."""

    def __init__(self, expected: float):
        self.buf = np.empty(int(expected) + 1024, dtype=np.float32)
        self.n = 0

    def append(self, block: np.ndarray):
        end = self.n + len(block)
        if end > len(self.buf):
            grown = np.empty(max(end, 2 * len(self.buf)), dtype=np.float32)
            grown[:self.n] = self.buf[:self.n]
            self.buf = grown
        self.buf[self.n:end] = block
        self.n = end

    def array(self) -> np.ndarray:
        """The samples written (a copy when the array is much larger than them)."""
        y = self.buf[:self.n]
        return y.copy() if len(self.buf) > 1.1 * self.n + 4096 else y


_NOT_REGULAR = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                (stat.S_ISDIR, "a folder"))


def not_regular(st: os.stat_result) -> str | None:
    """What a file is when it is not a regular file ("a FIFO (named pipe)", …); None when it is.

    Opening a FIFO or a device for reading can block forever, so extraction and ``predict``
    refuse anything but regular files before they open them.
    """
    if stat.S_ISREG(st.st_mode):
        return None
    for test, what in _NOT_REGULAR:
        if test(st.st_mode):
            return what
    return "not a regular file"


def not_regular_message(what: str) -> str:
    return f"{what}, not a regular audio file: skipped without opening it"


def content_hash(path: str | os.PathLike) -> str:
    """BLAKE2b (128-bit) hex digest of the file's bytes: a track's identity in the cache.

    Raises
    ------
    AudioError
        When ``path`` is not a regular file (checked on the open descriptor: a FIFO swapped in
        after planning is refused, not read forever).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, "rb") as f:
        what = not_regular(os.fstat(fd))
        if what:
            raise AudioError(not_regular_message(what))
        os.set_blocking(fd, True)
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def _native_path(path) -> str | bytes:
    """The path as bytes on POSIX, so that names which are not valid UTF-8 still open."""
    return os.fsencode(path) if os.name == "posix" else os.fspath(path)


def _libsndfile_reason(e, path) -> str:
    """libsndfile's reason without the path it echoes; its 'does not exist' means 'unrecognised'."""
    reason = (getattr(e, "error_string", "") or str(e)).strip()
    if "does not exist or is not a regular file" in reason and os.path.isfile(path):  # unidentifiable data
        return "unrecognised or corrupt audio data (no decoder accepts it)"
    return reason


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what the C decoders (libmpg123, libvorbis) print to fd 2 while a file is read.

    Their warnings (e.g. "part2_3_length too large") are about recoverable frames; a real
    failure still surfaces as an exception, which genrekit records with the file's name.
    """
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no fd 2
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def decode(
    path: str | os.PathLike, sr: int, *, offset: float = 0.0, duration: float | None = None,
    max_seconds: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read ``path`` with soundfile, downmix to mono and resample once (soxr, HQ) to ``sr``.

    Parameters
    ----------
    path : path-like
        WAV, FLAC, OGG/Vorbis, MP3, AIFF or anything else libsndfile decodes.
    sr : int
        Target sample rate.
    offset, duration : float
        Seconds to skip, and the most seconds to read (None: to the end).
    max_seconds : float, optional
        Refuse (AudioError) a file whose part to read is longer than this, before decoding it:
        extraction memory grows with the length of the signal (about 0.12 MB per second).

    Returns
    -------
    y : np.ndarray [shape=(n,)], float32
    native_sr : int
        The file's own sample rate.

    Raises
    ------
    AudioError
        With the reason, when the file is empty, cannot be decoded or holds no samples.
    """
    import soundfile as sf
    import soxr

    try:
        st = os.stat(path)
    except OSError as e:
        raise AudioError(f"cannot read file: {e.strerror}") from e
    what = not_regular(st)
    if what:
        raise AudioError(not_regular_message(what))
    size = st.st_size
    if size == 0:
        raise AudioError("file is empty (0 bytes)")
    try:
        with _quiet_native_stderr(), sf.SoundFile(_native_path(path)) as f:
            native_sr = f.samplerate
            start = int(round(offset * native_sr))
            stop = None if duration is None else start + int(round(duration * native_sr))
            if max_seconds is not None and f.frames > 0:
                to_read = (min(f.frames, stop) if stop is not None else f.frames) - start
                if to_read > max_seconds * native_sr:
                    raise AudioError(
                        f"{to_read / native_sr / 60:.1f} min of audio is more than the "
                        f"{max_seconds / 60:g} min genrekit analyses per file (memory grows by about "
                        f"0.12 MB per second of audio); pass --duration S to analyse part of it, or "
                        f"raise --max-minutes")
            if start:
                if f.seekable():
                    f.seek(min(start, f.frames) if f.frames > 0 else start)
                else:  # pragma: no cover - libsndfile formats are seekable
                    raise AudioError("file is not seekable; cannot apply --offset")
            stream = None if native_sr == sr else soxr.ResampleStream(native_sr, sr, 1, dtype="float32", quality="HQ")
            remaining = None if stop is None else stop - start
            frames = max((f.frames if stop is None else min(f.frames, stop)) - start, 0)
            chunks = _Signal(frames * sr / native_sr)
            while remaining is None or remaining > 0:
                n = BLOCK_FRAMES if remaining is None else min(BLOCK_FRAMES, remaining)
                block = f.read(n, dtype="float32", always_2d=True)
                if len(block) == 0:
                    break
                if remaining is not None:
                    remaining -= len(block)
                mono = downmix(block)
                chunks.append(stream.resample_chunk(mono) if stream else mono)
            if stream:
                chunks.append(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    except AudioError:
        raise
    except sf.LibsndfileError as e:
        raise AudioError(f"cannot decode audio: {_libsndfile_reason(e, path)}") from e
    except (RuntimeError, TypeError, ValueError, EOFError) as e:
        raise AudioError(f"cannot decode audio: {e}") from e
    y = chunks.array()
    if y.size == 0:
        raise AudioError("no audio samples" + (" after the requested offset" if offset else ""))
    return np.ascontiguousarray(y, dtype=np.float32), native_sr
