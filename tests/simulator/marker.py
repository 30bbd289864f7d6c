"""The sync marker: once a second, a tone burst in the audio that starts exactly with a white strip in the picture.

With `CameraSpec(sync=True)` every frame carries a strip just below the timecode band, black (luma 16) except on the
first frame of each second, where it is white (235); the audio is silence except a 1 kHz tone of `TONE_SECONDS` that
starts at that frame's presentation time, to the sample. Both come from one frame and sample count on the same
running time (see `feeder`), so they are aligned at the source; `tests.av_sync` finds them in decoded media.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .timecode import band_height

OFF_LUMA = 16
ON_LUMA = 235
THRESHOLD_LUMA = (OFF_LUMA + ON_LUMA) / 2
TONE_HZ = 1000
TONE_SECONDS = 0.1
TONE_AMPLITUDE = 0.5  # of full scale: well above codec noise, far from clipping
MIN_STRIP_HEIGHT = 16


def strip_rows(frame_height: int) -> slice:
    """Rows of the marker strip in a frame this tall: even-aligned, a little below the timecode band."""
    band = band_height(frame_height)
    top = (band + max(2, band // 2) + 1) & ~1
    height = max(MIN_STRIP_HEIGHT, frame_height // 12) & ~1
    return slice(top, top + height)


def draw_marker(luma: NDArray[np.uint8], on: bool) -> None:
    """Paint the strip of `luma`, a (height, width) plane, white (`on`) or black, in place."""
    luma[strip_rows(luma.shape[0]), :] = ON_LUMA if on else OFF_LUMA


def marker_level(luma: NDArray[np.number[Any]]) -> float:
    """Mean luma of the strip's inner half (edges blur under compression); above `THRESHOLD_LUMA` means a marker."""
    rows = strip_rows(luma.shape[0])
    height = rows.stop - rows.start
    width = luma.shape[1]
    inner = luma[rows.start + height // 4 : rows.stop - height // 4, width // 8 : width - width // 8]
    return float(inner.mean())


def tone(sample_rate: int, start: int, count: int, onset: int) -> NDArray[np.int16]:
    """`count` samples (S16 mono) from sample number `start`: the burst that began at sample `onset`, or silence.

    The sine starts at phase zero on the onset sample, so the burst's first half period already rises steeply.
    """
    index = np.arange(start, start + count, dtype=np.int64) - onset
    inside = (index >= 0) & (index < round(TONE_SECONDS * sample_rate))
    wave = np.sin(2 * math.pi * TONE_HZ * index / sample_rate) * TONE_AMPLITUDE * 32767
    return np.where(inside, wave, 0).astype(np.int16)


def lavfi_video(width: int, height: int, fps: int, source: str = "testsrc2") -> str:
    """The same marker in an ffmpeg lavfi video graph (for files): `source` with the strip, white on every frame
    whose number is a multiple of `fps` (frame 0, 1 s, 2 s...)."""
    rows = strip_rows(height)
    box = f"drawbox=x=0:y={rows.start}:w=iw:h={rows.stop - rows.start}:t=fill"
    return (
        f"{source}=size={width}x{height}:rate={fps},format=yuv420p,"
        f"{box}:color=black,{box}:color=white:enable='eq(mod(n\\,{fps})\\,0)'"
    )


def lavfi_audio(sample_rate: int, offset_s: float = 0.0, frame_samples: int = 1024) -> str:
    """The marker's tone bursts in an ffmpeg lavfi audio graph (mono): one each second, starting `offset_s` after
    each whole second (negative: before it), in frames of `frame_samples` (PCM codecs make a packet of each)."""
    phase = f"mod(t-({offset_s:.6f})\\,1)"
    return (
        f"aevalsrc=exprs='{TONE_AMPLITUDE}*sin(2*PI*{TONE_HZ}*{phase})*lt({phase}\\,{TONE_SECONDS})'"
        f":sample_rate={sample_rate}:channel_layout=mono:nb_samples={frame_samples}"
    )
