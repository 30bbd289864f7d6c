"""Decides what to do with each packet's timestamps before it reaches the segmenter (worker thread)."""

from __future__ import annotations

from enum import Enum, auto

from ..const import MAX_MISSING_DTS, MAX_TIMESTAMP_GAP
from ..exceptions import StreamWorkerError

# A backwards step larger than this is a source clock reset (camera reboot, RTSP re-sync), not jitter.
MAX_BACKWARD_STEP = 1.0  # seconds


class Verdict(Enum):
    """What the worker does with a packet."""

    ACCEPT = auto()
    DROP = auto()  # missing or non-increasing dts: harmless, skip it
    DISCONTINUITY = auto()  # a jump: end the run's timeline and start a new one at the next keyframe


class TimestampValidator:
    """Per-track dts checks: missing, non-monotonic, and jumps."""

    def __init__(self, timescale: int) -> None:
        self._timescale = timescale
        self._max_gap = MAX_TIMESTAMP_GAP * timescale
        self._max_backward = round(MAX_BACKWARD_STEP * timescale)
        self._last_dts: int | None = None
        self._missing = 0

    def check(self, dts: int | None) -> Verdict:
        """The verdict for a packet; raises after too many packets in a row without a dts."""
        if dts is None:
            self._missing += 1
            if self._missing > MAX_MISSING_DTS:
                raise StreamWorkerError(f"No dts in {MAX_MISSING_DTS + 1} consecutive packets")
            return Verdict.DROP
        self._missing = 0
        last = self._last_dts
        if last is None:
            self._last_dts = dts
            return Verdict.ACCEPT
        step = dts - last
        if step > self._max_gap or step < -self._max_backward:
            self._last_dts = dts
            return Verdict.DISCONTINUITY
        if step <= 0:
            return Verdict.DROP
        self._last_dts = dts
        return Verdict.ACCEPT

    def reset(self) -> None:
        self._last_dts = None
        self._missing = 0
