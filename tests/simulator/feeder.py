"""Pushes test-pattern frames into one media's appsrc at the configured rate, paced by absolute deadlines."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .pattern import TestPattern
from .spec import CameraSpec
from .timecode import wall_clock_ms

_LOGGER = logging.getLogger(__name__)
_NANOSECONDS = 1_000_000_000
# Further behind than this (a starved CPU), frames are skipped instead of pushed in a burst with bunched timestamps.
_MAX_LAG_FRAMES = 2


class FrameFeeder:
    """A thread feeding `appsrc` (a GstAppSrc) until `stop()`; frames get PTS from the pipeline clock at capture."""

    def __init__(self, appsrc: Any, spec: CameraSpec, gst: Any, label: str) -> None:
        self._appsrc = appsrc
        self._gst = gst
        self._fps = spec.fps
        self._pattern = TestPattern(spec.width, spec.height, spec.fps)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"feeder {label}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        period = 1 / self._fps
        duration_ns = _NANOSECONDS // self._fps
        origin = time.monotonic()
        index = 0
        while True:
            lag = time.monotonic() - (origin + index * period)
            if lag > _MAX_LAG_FRAMES * period:
                index += int(lag / period)
                continue
            if self._stopped.wait(max(0.0, -lag)):
                return
            self._push(index, duration_ns)
            index += 1

    def _push(self, index: int, duration_ns: int) -> None:
        clock = self._appsrc.get_clock()
        if clock is None:
            return  # the pipeline is not playing yet; a live source has nothing to show then
        # Capture instant: the pipeline's running time and the wall clock, read together.
        running_time = clock.get_time() - self._appsrc.get_base_time()
        timecode = wall_clock_ms()
        buffer = self._gst.Buffer.new_wrapped(self._pattern.render(index, timecode))
        buffer.pts = max(0, running_time)
        buffer.duration = duration_ns
        result = self._appsrc.emit("push-buffer", buffer)
        if result != self._gst.FlowReturn.OK:
            _LOGGER.debug("push-buffer returned %s", result)
