"""A TensorFlow checkpoint (tensor bundle V2) read with numpy: no TensorFlow at run time.

A checkpoint ``PREFIX`` is two kinds of files:

- ``PREFIX.index``: an SSTable (LevelDB's table format). Blocks of prefix-compressed key/value
  entries (``shared``, ``non_shared``, ``value_length`` as varints, then the key's new bytes and
  the value), each block ending in its restart offsets (uint32) and their count (uint32) and
  followed by a 5-byte trailer (compression type, masked CRC-32C). A 48-byte footer at the end of
  the file holds the block handles (offset, size varints) of the metaindex and index blocks and the
  magic number ``0xdb4775248b80fb57``; the index block's values are the handles of the data blocks.
  The key ``""`` holds a ``BundleHeaderProto``; every other key is a tensor name whose value is a
  ``BundleEntryProto``: dtype (field 1), shape (field 2: repeated ``dim`` field 2, each with
  ``size`` field 1), shard_id (3), offset (4), size (5), crc32c (6, fixed32), slices (7).
- ``PREFIX.data-SSSSS-of-NNNNN``: the tensors' raw little-endian bytes at their offsets.

Protocol buffers are parsed by hand (the wire format: varint keys ``field << 3 | wire_type``).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrekit.errors import GenrekitError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
#: TensorFlow DataType enum → numpy dtype (little endian); strings and resources are not read.
DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 14: "<u2",
          17: "<u2", 19: "<f2", 22: "<u4", 23: "<u8"}


class CheckpointError(GenrekitError):
    """A checkpoint file that cannot be read (missing, truncated, not a tensor bundle)."""


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lies: dtype code, shape, data shard, byte offset and size, CRC-32C."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None


# ------------------------------------------------------------------------------------ varints, protobuf
def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``buf[pos:]`` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError("varint longer than 64 bits")


def parse_proto(buf: bytes) -> dict[int, list]:
    """One protobuf message → ``{field number: [values]}`` (varints as int, fixed32/64 as int,
    length-delimited as bytes). Unknown fields are kept; nothing is interpreted."""
    fields: dict[int, list] = {}
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            n, pos = read_varint(buf, pos)
            value, pos = bytes(buf[pos:pos + n]), pos + n
            if pos > len(buf):
                raise CheckpointError("truncated protobuf field")
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def parse_entry(name: str, value: bytes) -> TensorEntry:
    """A ``BundleEntryProto`` → :class:`TensorEntry`."""
    f = parse_proto(value)
    if 7 in f:
        raise CheckpointError(f"tensor {name!r} is stored in slices, which this reader does not read")
    shape = ()
    if 2 in f:
        shape_f = parse_proto(f[2][0])
        shape = tuple(parse_proto(d).get(1, [0])[0] for d in shape_f.get(2, []))
    return TensorEntry(name=name, dtype=f.get(1, [0])[0], shape=shape, shard_id=f.get(3, [0])[0],
                       offset=f.get(4, [0])[0], size=f.get(5, [0])[0], crc32c=f.get(6, [None])[0])


# ------------------------------------------------------------------------------------ the SSTable
def _block(data: bytes, handle: tuple[int, int], where: str) -> bytes:
    offset, size = handle
    if offset + size + 5 > len(data):
        raise CheckpointError(f"{where}: a block lies beyond the end of the file (truncated?)")
    if data[offset + size] != 0:
        raise CheckpointError(f"{where}: compressed blocks (type {data[offset + size]}) are not supported")
    return data[offset:offset + size]


def block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """The ``(key, value)`` pairs of one table block, in order."""
    if len(block) < 4:
        raise CheckpointError("table block shorter than its restart count")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    if end < 0:
        raise CheckpointError("table block with an impossible restart count")
    out, key, pos = [], b"", 0
    while pos < end:
        shared, pos = read_varint(block, pos)
        non_shared, pos = read_varint(block, pos)
        vlen, pos = read_varint(block, pos)
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        out.append((key, block[pos:pos + vlen]))
        pos += vlen
    return out


def read_table(data: bytes, where: str = "index") -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of an SSTable held in ``data``."""
    if len(data) < FOOTER_SIZE or struct.unpack_from("<Q", data, len(data) - 8)[0] != TABLE_MAGIC:
        raise CheckpointError(f"{where} is not a TensorFlow checkpoint index (no table magic at its end)")
    footer = data[len(data) - FOOTER_SIZE:]
    pos = 0
    _meta_off, pos = read_varint(footer, pos)
    _meta_size, pos = read_varint(footer, pos)
    idx_off, pos = read_varint(footer, pos)
    idx_size, pos = read_varint(footer, pos)
    entries = []
    for _last_key, handle in block_entries(_block(data, (idx_off, idx_size), where)):
        off, p = read_varint(handle, 0)
        size, _ = read_varint(handle, p)
        entries.extend(block_entries(_block(data, (off, size), where)))
    return entries


# ------------------------------------------------------------------------------------ CRC-32C
def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data`` (pure Python: ~1 MB/s, for tests and small tensors)."""
    c = 0xFFFFFFFF
    t = _CRC_TABLE
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The masked CRC TensorFlow stores: ``((crc >> 15) | (crc << 17)) + 0xa282ead8`` mod 2³²."""
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# ------------------------------------------------------------------------------------ the reader
class CheckpointReader:
    """The tensors of a checkpoint ``prefix`` (files ``prefix.index``, ``prefix.data-*``).

    >>> r = CheckpointReader("model/ckpt")          # doctest: +SKIP
    >>> r.names(); r.entry("dense/kernel").shape; r.tensor("dense/kernel")   # doctest: +SKIP
    """

    def __init__(self, prefix: str | os.PathLike):
        self.prefix = str(prefix)
        index = Path(self.prefix + ".index")
        try:
            data = index.read_bytes()
        except OSError as e:
            raise CheckpointError(f"cannot read checkpoint index {index}: {e.strerror or e}") from None
        self.num_shards = 1
        self._entries: dict[str, TensorEntry] = {}
        for key, value in read_table(data, str(index)):
            if key == b"":
                self.num_shards = parse_proto(value).get(1, [1])[0]
            else:
                name = key.decode("utf-8")
                self._entries[name] = parse_entry(name, value)
        self._shards: dict[int, np.memmap] = {}

    def names(self) -> list[str]:
        """Tensor names, sorted (the table's order)."""
        return list(self._entries)

    def entry(self, name: str) -> TensorEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise CheckpointError(f"checkpoint {self.prefix} holds no tensor {name!r}") from None

    def shard_path(self, shard_id: int) -> str:
        return f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}"

    def _shard(self, shard_id: int) -> np.ndarray:
        if shard_id not in self._shards:
            path = self.shard_path(shard_id)
            try:
                self._shards[shard_id] = np.fromfile(path, dtype=np.uint8)
            except OSError as e:
                raise CheckpointError(f"cannot read checkpoint data {path}: {e.strerror or e}") from None
        return self._shards[shard_id]

    def tensor(self, name: str, *, verify_crc: bool = False) -> np.ndarray:
        """The tensor ``name`` as a new numpy array of its dtype and shape."""
        e = self.entry(name)
        if e.dtype not in DTYPES:
            raise CheckpointError(f"tensor {name!r} has TensorFlow dtype {e.dtype}, which this reader does not read")
        dtype = np.dtype(DTYPES[e.dtype])
        count = int(np.prod(e.shape, dtype=np.int64))
        if count * dtype.itemsize != e.size:
            raise CheckpointError(f"tensor {name!r}: {e.size} bytes do not hold shape {e.shape} of {dtype}")
        shard = self._shard(e.shard_id)
        if e.offset + e.size > shard.size:
            raise CheckpointError(f"tensor {name!r} lies beyond the end of {self.shard_path(e.shard_id)} "
                                  "(truncated file?)")
        raw = shard[e.offset:e.offset + e.size].tobytes()
        if verify_crc and e.crc32c is not None and masked_crc32c(raw) != e.crc32c:
            raise CheckpointError(f"tensor {name!r}: CRC-32C mismatch in {self.shard_path(e.shard_id)}")
        return np.frombuffer(raw, dtype=dtype).reshape(e.shape).astype(dtype.newbyteorder("="))

    def tensors(self) -> dict[str, np.ndarray]:
        """Every readable tensor by name."""
        return {n: self.tensor(n) for n in self.names() if self._entries[n].dtype in DTYPES}
