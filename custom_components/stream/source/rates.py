"""Frame rate, bitrate and keyframe interval over the last seconds of media, for diagnostics.

The worker thread reports every packet it forwards (`MediaRateMeter.on_packet`, O(1)); the event loop reads a
`MediaRates` snapshot. The window is measured on the media's own timestamps, so a camera that sends in bursts reads
at its real rate; each track keeps its own window because audio and video clocks need not share an origin.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 10.0
# Bound per track whatever the source sends (4096 samples is over a minute of 60 fps video).
MAX_SAMPLES = 4096


@dataclass(frozen=True, slots=True)
class MediaRates:
    """What the last `WINDOW_SECONDS` of media looked like; None where there is nothing to measure."""

    fps: float | None
    bitrate: int | None  # bits per second, every forwarded track
    keyframe_interval: float | None  # seconds between the last two keyframes


NO_RATES = MediaRates(fps=None, bitrate=None, keyframe_interval=None)


class _TrackWindow:
    """(seconds, bytes) of one track's packets within the window, with their byte total kept as they come and go."""

    __slots__ = ("_bytes", "_samples")

    def __init__(self) -> None:
        self._samples: deque[tuple[float, int]] = deque()
        self._bytes = 0

    def add(self, seconds: float, size: int) -> bool:
        """Add a packet; True when its timestamp went backwards (a new timeline: the window restarted)."""
        samples = self._samples
        restarted = bool(samples) and seconds < samples[-1][0]
        if restarted:
            self.clear()
        samples.append((seconds, size))
        self._bytes += size
        horizon = seconds - WINDOW_SECONDS
        while samples[0][0] < horizon or len(samples) > MAX_SAMPLES:
            self._bytes -= samples.popleft()[1]
        return restarted

    def clear(self) -> None:
        self._samples.clear()
        self._bytes = 0

    def rates(self) -> tuple[float, float] | None:
        """(packets per second, bytes per second) between the first and last packet held; None below two packets.

        The first packet only opens the interval, so it counts in neither figure.
        """
        if len(self._samples) < 2:
            return None
        span = self._samples[-1][0] - self._samples[0][0]
        if span <= 0:
            return None
        return (len(self._samples) - 1) / span, (self._bytes - self._samples[0][1]) / span


class MediaRateMeter:
    """Fed by the worker thread, read from the event loop: a lock keeps each side's view consistent."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._video = _TrackWindow()
        self._audio = _TrackWindow()
        self._last_keyframe: float | None = None
        self._keyframe_interval: float | None = None
        self._last_packet_at: float | None = None  # by `clock`: rates go stale when packets stop

    def on_packet(self, is_video: bool, dts: int, timescale: int, size: int, keyframe: bool) -> None:
        """One forwarded packet: its decode time in `timescale` ticks and its size in bytes."""
        seconds = dts / timescale
        with self._lock:
            self._last_packet_at = self._clock()
            if not is_video:
                self._audio.add(seconds, size)
                return
            if self._video.add(seconds, size):
                self._last_keyframe = None
            if keyframe:
                if self._last_keyframe is not None:
                    self._keyframe_interval = seconds - self._last_keyframe
                self._last_keyframe = seconds

    def new_run(self) -> None:
        """A new run of the worker: its timestamps start over and say nothing about the last run's."""
        with self._lock:
            self._video.clear()
            self._audio.clear()
            self._last_keyframe = None

    def read(self) -> MediaRates:
        """The current rates; nothing once no packet came for a whole window (the source stalled or stopped)."""
        with self._lock:
            if self._last_packet_at is None or self._clock() - self._last_packet_at > WINDOW_SECONDS:
                return NO_RATES
            video = self._video.rates()
            audio = self._audio.rates()
            keyframe_interval = self._keyframe_interval
        byte_rate = sum(rates[1] for rates in (video, audio) if rates is not None)
        return MediaRates(
            fps=round(video[0], 2) if video is not None else None,
            bitrate=round(byte_rate * 8) if video is not None or audio is not None else None,
            keyframe_interval=round(keyframe_interval, 3) if keyframe_interval is not None else None,
        )
