"""The live test picture: static colour bars, a moving box (so encoders see motion) and the timecode band."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .marker import draw_marker, strip_rows
from .timecode import band_height, encode_timecode

# 75 % colour bars (white, yellow, cyan, green, magenta, red, blue) in BT.601 limited-range Y, U, V.
_BARS_YUV = (
    (180, 128, 128),
    (162, 44, 142),
    (131, 156, 44),
    (112, 72, 58),
    (84, 184, 198),
    (65, 100, 212),
    (35, 212, 114),
)
_BOX_LUMA = 235
_NEUTRAL_CHROMA = 128
_BOX_CROSSING_SECONDS = 2.0


class TestPattern:
    """Renders I420 frames of a fixed size; the background is drawn once, each frame copies it and adds the rest."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, width: int, height: int, fps: int) -> None:
        self.width = width
        self.height = height
        self._background = _background(width, height)
        self._frame = np.empty_like(self._background)
        self._box_size = max(8, height // 6) & ~1
        self._box_top = (height // 2 - self._box_size // 2) & ~1
        self._box_step = max(2, round(width / (_BOX_CROSSING_SECONDS * fps))) & ~1

    @property
    def frame_size(self) -> int:
        """Bytes in one I420 frame."""
        return self._background.size

    def render(self, index: int, timecode_ms: int, marker: bool | None = None) -> bytes:
        """Frame number `index` stamped with `timecode_ms`, as I420 bytes; with `marker` not None, the sync marker's
        strip is drawn, white when `marker` is true (see `marker`)."""
        frame = self._frame
        np.copyto(frame, self._background)
        luma, chroma_u, chroma_v = _planes(frame, self.width, self.height)
        left = ((index * self._box_step) % (self.width - self._box_size)) & ~1
        size, top = self._box_size, self._box_top
        luma[top : top + size, left : left + size] = _BOX_LUMA
        chroma_u[top // 2 : (top + size) // 2, left // 2 : (left + size) // 2] = _NEUTRAL_CHROMA
        chroma_v[top // 2 : (top + size) // 2, left // 2 : (left + size) // 2] = _NEUTRAL_CHROMA
        encode_timecode(luma, timecode_ms)
        if marker is not None:
            draw_marker(luma, marker)
            rows = strip_rows(self.height)
            chroma_u[rows.start // 2 : rows.stop // 2, :] = _NEUTRAL_CHROMA
            chroma_v[rows.start // 2 : rows.stop // 2, :] = _NEUTRAL_CHROMA
        return frame.tobytes()


def _planes(
    frame: NDArray[np.uint8], width: int, height: int
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]:
    luma_size = width * height
    chroma_size = luma_size // 4
    luma = frame[:luma_size].reshape(height, width)
    chroma_u = frame[luma_size : luma_size + chroma_size].reshape(height // 2, width // 2)
    chroma_v = frame[luma_size + chroma_size :].reshape(height // 2, width // 2)
    return luma, chroma_u, chroma_v


def _background(width: int, height: int) -> NDArray[np.uint8]:
    frame = np.empty(width * height * 3 // 2, dtype=np.uint8)
    luma, chroma_u, chroma_v = _planes(frame, width, height)
    for index, (y, u, v) in enumerate(_BARS_YUV):
        # Chroma edges follow the luma edges halved so each bar keeps one colour.
        start = (index * width // len(_BARS_YUV)) & ~1
        end = ((index + 1) * width // len(_BARS_YUV)) & ~1 if index + 1 < len(_BARS_YUV) else width
        luma[:, start:end] = y
        chroma_u[:, start // 2 : end // 2] = u
        chroma_v[:, start // 2 : end // 2] = v
    # The timecode band is drawn per frame; neutral chroma keeps it grey so the bars don't bleed into it.
    band = band_height(height)
    chroma_u[: (band + 1) // 2, :] = _NEUTRAL_CHROMA
    chroma_v[: (band + 1) // 2, :] = _NEUTRAL_CHROMA
    return frame
