"""A machine-readable capture time burnt into the top band of a frame's luma plane, for glass-to-glass latency.

The value is the wall-clock capture time in milliseconds since the Unix epoch, modulo 2**32, as 32 cells MSB first:
cell i spans columns [i*W//32, (i+1)*W//32) of the band's rows [0, max(16, H//24)); a 1 bit is luma 235, a 0 bit 16.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

BITS = 32
MODULUS = 1 << BITS
ONE_LUMA = 235
ZERO_LUMA = 16
MIN_BAND_HEIGHT = 16
_THRESHOLD = (ONE_LUMA + ZERO_LUMA) / 2

type Luma = NDArray[np.uint8]


def band_height(frame_height: int) -> int:
    """Rows of the timecode band at the top of a frame this tall."""
    return max(MIN_BAND_HEIGHT, frame_height // 24)


def wall_clock_ms() -> int:
    """Now, in the timecode's unit: milliseconds since the Unix epoch modulo 2**32."""
    return (time.time_ns() // 1_000_000) % MODULUS


def timecode_age_ms(timecode: int, now_ms: int | None = None) -> int:
    """How long ago (ms) a timecode was stamped; negative if it lies in the future. Handles the 2**32 wrap."""
    now = wall_clock_ms() if now_ms is None else now_ms
    age = (now - timecode) % MODULUS
    return age - MODULUS if age >= MODULUS // 2 else age


@cache
def _cell_edges(width: int) -> tuple[int, ...]:
    return tuple(index * width // BITS for index in range(BITS + 1))


@cache
def _cell_index_of_column(width: int) -> NDArray[np.intp]:
    edges = _cell_edges(width)
    return np.repeat(np.arange(BITS), np.diff(edges))


def _bits(ms: int) -> NDArray[np.bool_]:
    value = ms % MODULUS
    return np.array([(value >> (BITS - 1 - index)) & 1 for index in range(BITS)], dtype=np.bool_)


def encode_timecode(luma: Luma, ms: int) -> None:
    """Write `ms` (mod 2**32) into the band of `luma`, a (height, width) uint8 plane, in place."""
    height, width = luma.shape
    row = np.where(_bits(ms), ONE_LUMA, ZERO_LUMA).astype(np.uint8)[_cell_index_of_column(width)]
    luma[: band_height(height), :] = row


def decode_timecode(luma: NDArray[np.number[Any]]) -> int:
    """Read the timecode from `luma`, a (height, width) plane of a decoded frame.

    Each cell is judged by the mean of its inner half, away from edges that compression blurs into neighbours.
    """
    height, width = luma.shape[:2]
    band = band_height(height)
    rows = luma[band // 4 : band - band // 4]
    edges = _cell_edges(width)
    value = 0
    for index in range(BITS):
        start, end = edges[index], edges[index + 1]
        margin = (end - start) // 4
        cell = rows[:, start + margin : end - margin]
        value = (value << 1) | int(float(cell.mean()) > _THRESHOLD)
    return value
