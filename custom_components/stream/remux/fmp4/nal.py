"""NAL unit framing: Annex-B start codes versus length prefixes.

Scanning uses `bytes.find`, which runs in C, so converting a packet costs a few slices and one join.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

START_CODE = b"\x00\x00\x01"
LONG_START_CODE = b"\x00\x00\x00\x01"
_EMULATION_PREVENTION = b"\x00\x00\x03"
_LENGTH = struct.Struct(">I")


def is_annexb(data: bytes) -> bool:
    """True when `data` starts with a start code."""
    return data.startswith(START_CODE) or data.startswith(LONG_START_CODE)


def split_annexb(data: bytes) -> list[bytes]:
    """The NAL units of an Annex-B byte stream (anything before the first start code is ignored)."""
    find = data.find
    units: list[bytes] = []
    start = find(START_CODE)
    while start >= 0:
        start += 3
        end = find(START_CODE, start)
        # A 4-byte start code or trailing_zero_8bits leave zeros at the end; a NAL unit never ends with zero.
        unit = (data[start:] if end < 0 else data[start:end]).rstrip(b"\x00")
        if unit:
            units.append(unit)
        start = end
    return units


def split_length_prefixed(data: bytes, length_size: int = 4) -> list[bytes]:
    """The NAL units of an AVCC/HVCC sample, each preceded by a big-endian length of `length_size` bytes; raises
    ValueError when a length runs past the end of the sample."""
    units: list[bytes] = []
    position = 0
    size = len(data)
    while position + length_size <= size:
        length = int.from_bytes(data[position : position + length_size])
        position += length_size
        if length > size - position:
            raise ValueError(f"NAL unit length {length} exceeds the {size - position} bytes left in the sample")
        if length:  # a zero length carries no NAL unit (damage, or padding): nothing to keep
            units.append(data[position : position + length])
        position += length
    return units


def join_length_prefixed(units: Iterable[bytes]) -> bytes:
    """NAL units as one sample with 4-byte length prefixes."""
    parts: list[bytes] = []
    for unit in units:
        parts.append(_LENGTH.pack(len(unit)))
        parts.append(unit)
    return b"".join(parts)


def join_annexb(units: Iterable[bytes]) -> bytes:
    """NAL units as an Annex-B byte stream with 4-byte start codes."""
    parts: list[bytes] = []
    for unit in units:
        parts.append(LONG_START_CODE)
        parts.append(unit)
    return b"".join(parts)


def annexb_to_length_prefixed(data: bytes) -> bytes:
    return join_length_prefixed(split_annexb(data))


def length_prefix_in_place(buffer: bytearray) -> bool:
    """Turn an Annex-B access unit whose start codes are all 4 bytes long into 4-byte length-prefixed NAL units by
    writing each unit's length over its start code: nothing moves, so the scan for start codes is the only per-byte
    work (cameras and FFmpeg's muxers write 4-byte codes). Same result as `annexb_to_length_prefixed` when True; False,
    with `buffer` partly rewritten, on anything else (3-byte codes, data before the first code, empty units, zero
    bytes before a code or at the end), which that function handles."""
    if not buffer.startswith(LONG_START_CODE):
        return False
    find = buffer.find
    pack_into = _LENGTH.pack_into
    size = len(buffer)
    start = 0  # where the current unit's start code begins
    while True:
        found = find(START_CODE, start + 4)  # the last 3 bytes of the next 4-byte start code
        end = size if found < 0 else found - 1
        # The unit must not be empty nor end in a zero (a trailing_zero_8bits, or a 3-byte code's neighbour), and
        # the next code must have its leading zero byte.
        if end <= start + 4 or buffer[end - 1] == 0 or (found >= 0 and buffer[end] != 0):
            return False
        pack_into(buffer, start, end - start - 4)
        if found < 0:
            return True
        start = end


def split_nal_units(data: bytes, length_size: int = 4) -> list[bytes]:
    """NAL units of either framing: Annex-B when `data` starts with a start code, else length-prefixed."""
    return split_annexb(data) if is_annexb(data) else split_length_prefixed(data, length_size)


def unescape_rbsp(unit: bytes) -> bytes:
    """Remove emulation-prevention bytes (00 00 03 -> 00 00) so the payload can be read as bits."""
    # bytes.replace resumes after each match, which is exactly how the decoder resets its zero count.
    return unit.replace(_EMULATION_PREVENTION, b"\x00\x00") if _EMULATION_PREVENTION in unit else unit
