"""Pushes test-pattern frames into one media's appsrc at the configured rate, paced by absolute deadlines.

With the sync marker (`CameraSpec.sync`), frames are stamped on a grid of the frame period from the first pushed
frame, and the feeder pushes the audio too: after each frame, the samples up to that frame's end, so the tone burst
that starts with a marker frame starts at that frame's timestamp, to the sample (see `marker`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from .marker import tone
from .pattern import TestPattern
from .pipeline import audio_rate, encoder_delay
from .spec import CameraSpec
from .timecode import wall_clock_ms

_LOGGER = logging.getLogger(__name__)
_NANOSECONDS = 1_000_000_000
# Further behind than this (a starved CPU), frames are skipped instead of pushed in a burst with bunched timestamps.
_MAX_LAG_FRAMES = 2


@dataclass(slots=True)
class SyncTimeline:
    """Frame and sample times of a sync-marker run, both counted from the running time of its first frame.

    The audio is stamped `lead` samples early: an encoder that puts that many samples of its own first (AAC's priming)
    stamps its first output with the first input's time, so the decoded sound would otherwise play that much late."""

    fps: int
    sample_rate: int
    origin_ns: int  # running time of frame 0
    origin_index: int  # the feeder's index of frame 0
    lead: int = 0  # samples the audio is stamped early by, for the encoder's delay (`pipeline.encoder_delay`)
    second: int = -1  # the second whose marker was shown last
    onset: int = -(1 << 62)  # sample number where the last tone burst started
    previous_onset: int = -(1 << 62)  # and the one before: after skipped frames its end may still be due
    next_sample: int = 0

    def frame_pts(self, frame: int) -> int:
        return self.origin_ns + frame * _NANOSECONDS // self.fps

    def sample_pts(self, sample: int) -> int:
        return max(0, self.origin_ns + (sample - self.lead) * _NANOSECONDS // self.sample_rate)

    def marker(self, frame: int) -> bool:
        """Whether `frame` shows the marker: the first frame pushed in each second (a skipped one passes it on)."""
        if frame // self.fps == self.second:
            return False
        self.second = frame // self.fps
        self.previous_onset, self.onset = self.onset, frame * self.sample_rate // self.fps
        return True

    def samples_until(self, frame: int) -> tuple[int, bytes]:
        """The first sample number and S16 samples still to push up to the end of `frame`."""
        start, end = self.next_sample, (frame + 1) * self.sample_rate // self.fps
        self.next_sample = max(start, end)
        count = self.next_sample - start
        # Bursts are a second apart and never overlap: the two add up to whichever is due.
        bursts = tone(self.sample_rate, start, count, self.previous_onset)
        bursts += tone(self.sample_rate, start, count, self.onset)
        return start, bursts.tobytes()


class FrameFeeder:
    """A thread feeding `appsrc` (a GstAppSrc) until `stop()`; frames get PTS from the pipeline clock at capture.
    With `audio_source` (the sync marker's audio appsrc) it feeds the audio too."""

    def __init__(self, appsrc: Any, spec: CameraSpec, gst: Any, label: str, *, audio_source: Any = None) -> None:
        self._appsrc = appsrc
        self._audio_source = audio_source
        self._gst = gst
        self._fps = spec.fps
        self._sync = spec.sync
        self._sample_rate = audio_rate(spec.audio) if spec.audio else 0
        self._lead = encoder_delay(spec.audio) if spec.audio else 0
        self._timeline: SyncTimeline | None = None
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
        if self._sync:
            self._push_synced(index, max(0, running_time), timecode)
            return
        buffer = self._gst.Buffer.new_wrapped(self._pattern.render(index, timecode))
        buffer.pts = max(0, running_time)
        buffer.duration = duration_ns
        self._emit(self._appsrc, buffer)

    def _push_synced(self, index: int, running_time: int, timecode: int) -> None:
        if self._timeline is None:
            self._timeline = SyncTimeline(self._fps, self._sample_rate or 1, running_time, index, self._lead)
        timeline = self._timeline
        frame = index - timeline.origin_index
        buffer = self._gst.Buffer.new_wrapped(self._pattern.render(index, timecode, timeline.marker(frame)))
        buffer.pts = timeline.frame_pts(frame)
        buffer.duration = timeline.frame_pts(frame + 1) - buffer.pts
        self._emit(self._appsrc, buffer)
        if self._audio_source is None:
            return
        start, samples = timeline.samples_until(frame)
        if not samples:
            return
        audio = self._gst.Buffer.new_wrapped(samples)
        audio.pts = timeline.sample_pts(start)
        audio.duration = timeline.sample_pts(timeline.next_sample) - audio.pts
        self._emit(self._audio_source, audio)

    def _emit(self, appsrc: Any, buffer: Any) -> None:
        result = appsrc.emit("push-buffer", buffer)
        if result != self._gst.FlowReturn.OK:
            _LOGGER.debug("push-buffer returned %s", result)
