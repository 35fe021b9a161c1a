"""A TensorFlow checkpoint (tensor bundle V2) writer for tests: the exact on-disk format, written
independently of the reader (LevelDB table blocks with prefix-compressed keys and restart points,
block trailers with masked CRC-32C, the 48-byte footer; BundleHeaderProto / BundleEntryProto
encoded by hand)."""

from __future__ import annotations

import struct

import numpy as np

MAGIC = 0xDB4775248B80FB57
DTYPE_CODES = {np.dtype("float32"): 1, np.dtype("float64"): 2, np.dtype("int32"): 3, np.dtype("uint8"): 4,
               np.dtype("int64"): 9, np.dtype("bool"): 10, np.dtype("float16"): 19}


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 * (crc & 1))
    return crc ^ 0xFFFFFFFF


def mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def block(entries: list[tuple[bytes, bytes]], restart_interval: int = 3) -> bytes:
    out, restarts, prev = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(key), len(prev)) and key[shared] == prev[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value
        prev = key
    if not restarts:
        restarts = [0]
    for r in restarts:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts))
    return bytes(out)


def entry_proto(arr: np.ndarray, offset: int, data: bytes) -> bytes:
    shape = b"".join(field_bytes(2, field_varint(1, d)) for d in arr.shape)
    return (field_varint(1, DTYPE_CODES[arr.dtype]) + field_bytes(2, shape) + field_varint(4, offset)
            + field_varint(5, len(data)) + varint(6 << 3 | 5) + struct.pack("<I", mask(crc32c(data))))


def write_checkpoint(prefix: str, tensors: dict[str, np.ndarray], *, per_block: int = 4) -> None:
    """Write ``tensors`` as checkpoint ``prefix`` (``prefix.index``, ``prefix.data-00000-of-00001``),
    several data blocks of ``per_block`` entries each."""
    data, entries = bytearray(), []
    header = field_varint(1, 1) + field_varint(2, 0) + field_bytes(3, field_varint(1, 1))
    entries.append((b"", header))
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        entries.append((name.encode(), entry_proto(arr, len(data), raw)))
        data += raw
    with open(prefix + ".data-00000-of-00001", "wb") as f:
        f.write(data)
    out, index = bytearray(), []

    def put(blk: bytes) -> bytes:
        handle = varint(len(out)) + varint(len(blk))
        out.extend(blk + b"\x00" + struct.pack("<I", mask(crc32c(blk + b"\x00"))))
        return handle

    for i in range(0, len(entries), per_block):
        chunk = entries[i:i + per_block]
        index.append((chunk[-1][0], put(block(chunk))))
    meta = put(block([]))
    idx = put(block(index, restart_interval=1))
    footer = (meta + idx).ljust(40, b"\x00") + struct.pack("<Q", MAGIC)
    with open(prefix + ".index", "wb") as f:
        f.write(bytes(out) + footer)
