"""ISO BMFF box writing and walking.

Writing joins payload byte strings once per box (no per-byte work), so building a moof costs a handful of
`struct.pack` calls and joins.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

_HEADER = struct.Struct(">I4s")
_FULL_HEADER = struct.Struct(">I4sI")
_LARGE_SIZE = struct.Struct(">Q")


def box(kind: bytes, *payload: bytes) -> bytes:
    """A box of type `kind` around the concatenated `payload`."""
    return b"".join((_HEADER.pack(8 + sum(map(len, payload)), kind), *payload))


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """A FullBox: a box whose payload starts with an 8-bit version and 24-bit flags."""
    return b"".join((_FULL_HEADER.pack(12 + sum(map(len, payload)), kind, (version << 24) | flags), *payload))


def iter_boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, start, end) of each box lying back to back in data[start:end]."""
    stop = len(data) if end is None else end
    while start + 8 <= stop:
        size, kind = _HEADER.unpack_from(data, start)
        if size == 1:
            (size,) = _LARGE_SIZE.unpack_from(data, start + 8)
        elif size == 0:  # "extends to the end of the file"
            size = stop - start
        if size < 8 or start + size > stop:
            raise ValueError(f"Corrupt box {kind!r} at offset {start}: size {size}")
        yield kind, start, start + size
        start += size


def children(data: bytes, parent: tuple[int, int], header_size: int = 8) -> Iterator[tuple[bytes, int, int]]:
    """The boxes inside the container box spanning data[parent[0]:parent[1]]."""
    return iter_boxes(data, parent[0] + header_size, parent[1])


def find_child(data: bytes, parent: tuple[int, int] | None, kind: bytes) -> tuple[int, int] | None:
    """(start, end) of the first `kind` box in `parent` (or at the top level when `parent` is None)."""
    boxes = iter_boxes(data) if parent is None else children(data, parent)
    for child_kind, start, end in boxes:
        if child_kind == kind:
            return start, end
    return None


def init_tracks(init: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of every trak box in the moov of an init segment; ValueError without a moov."""
    moov = find_child(init, None, b"moov")
    if moov is None:
        raise ValueError("moov box not found in the init segment")
    for kind, start, end in children(init, moov):
        if kind == b"trak":
            yield start, end
