"""Cuts a continuous run of samples into LL-HLS parts and keyframe-aligned segments (worker thread).

A part closes when the next video frame arrives and would push it past the part target, so every part's duration
is exactly the sum of its samples' durations and never above the target; a segment closes at the first keyframe at
least `min_segment_duration` after its start. Timestamps are mapped onto one output timeline that continues across
discontinuities, so the tfdt of every fragment follows on from the one before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .media import Part, Sample, SampleData, SegmentHeader

type PartSink = Callable[[SegmentHeader, Part, bool], None]

# A segment's last part is kept at least this long when the next keyframe can be foreseen: hls.js takes a buffer that
# ends within its maxFragLookUpTolerance (0.25 s) of a segment's end as reaching the next segment, so it never loads
# a shorter last part, leaving a hole that stalls playback (a 2-frame last part did, at 30 fps with jittery frame
# times; at 25 fps with 0.34 s parts every 6 s segment would end in a 0.24 s part).
MIN_LAST_PART_S = 0.26


class FragmentWriter(Protocol):
    """What the segmenter needs from the fMP4 writer."""

    @property
    def codecs(self) -> str: ...

    def init_segment(self, orientation: int = 1) -> bytes: ...

    def fragment(self, sequence_number: int, video: list[Sample], audio: list[Sample]) -> bytes: ...


@dataclass(slots=True)
class StreamTimeline:
    """Counters that outlive one worker run: segment numbers, discontinuities, where the output time stands.

    Segment numbers start at 1: hls.js 1.6 makes blocking playlist reloads only once the newest complete segment's
    number is truthy, so with a segment 0 it polls the playlist on a timer (every ~1.3 s) for as long as segment 0
    is the newest complete one, i.e. through the whole long second segment of our fast start: stalls on a busy box.
    """

    sequence: int = 0
    discontinuity: int = -1
    fragment_sequence: int = 0
    time_cursor: float = 0.0  # seconds of output timeline already used

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def next_fragment(self) -> int:
        self.fragment_sequence += 1
        return self.fragment_sequence


class Segmenter:
    """One continuous run of a source: samples in (source timestamps), parts out through `sink`."""

    # Where the next keyframe should come: the last one plus the last keyframe interval (output timeline ticks).
    _last_keyframe_dts: int | None = None
    _keyframe_ticks: int | None = None

    def __init__(
        self,
        writer: FragmentWriter,
        timeline: StreamTimeline,
        *,
        video_timescale: int,
        audio_timescale: int | None,
        part_target: float,
        min_segment_duration: float,
        sink: PartSink,
        first_segment_duration: float | None = None,
        width: int = 0,
        height: int = 0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._writer = writer
        self._timeline = timeline
        self._video_timescale = video_timescale
        self._audio_timescale = audio_timescale
        self._part_target_ticks = round(part_target * video_timescale)
        self._min_segment_ticks = round(min_segment_duration * video_timescale)
        # The first segment of a run ends at the first keyframe this far in: players (hls.js) start only from a
        # complete segment, so a short first segment is the fast start. It must still reach past the player's
        # hold-back, or hls.js computes a start before the first segment and re-fetches it in a loop.
        first = min_segment_duration if first_segment_duration is None else first_segment_duration
        self._first_segment_ticks = round(min(first, min_segment_duration) * video_timescale)
        self._segment_min_ticks = self._first_segment_ticks
        self._sink = sink
        self._clock = clock
        self._size = (width, height)
        self._init: bytes | None = None

        # Mapping of source timestamps onto the output timeline, fixed at the first keyframe.
        self._video_offset = 0
        self._audio_offset = 0
        self._audio_start = 0
        self._anchor_wallclock = datetime.min.replace(tzinfo=UTC)
        self._anchor_dts = 0

        self._header: SegmentHeader | None = None
        self._segment_start = 0  # dts of the keyframe that started the current group of segments
        self._pending_video: Sample | None = None
        self._pending_audio: Sample | None = None
        self._part_video: list[Sample] = []
        self._part_audio: list[Sample] = []
        self._part_ticks = 0
        self._last_video_duration = max(1, video_timescale // 30)
        self._recent_durations: deque[int] = deque(maxlen=8)
        self._last_audio_duration = 1024
        self._min_last_part_ticks = min(round(MIN_LAST_PART_S * video_timescale), self._part_target_ticks)

    @property
    def started(self) -> bool:
        """True once the first keyframe arrived."""
        return self._header is not None

    def add_video(self, dts: int, pts: int, keyframe: bool, data: SampleData) -> None:
        """A video access unit with source timestamps (validated: dts increases)."""
        if self._header is None:
            if not keyframe:
                return  # nothing is playable before the first keyframe
            self._start_timeline(dts)
        out_dts = dts + self._video_offset
        pending = self._pending_video
        if pending is not None:
            pending.duration = out_dts - pending.dts
            self._last_video_duration = pending.duration
            self._recent_durations.append(pending.duration)
            if self._part_video and self._part_ticks + pending.duration > self._part_target_ticks:
                # Jitter made this frame longer than the estimate the last cut relied on.
                self._close_part(last_in_segment=False)
            self._part_video.append(pending)
            self._part_ticks += pending.duration
            if keyframe and out_dts - self._segment_start >= self._segment_min_ticks:
                self._segment_min_ticks = self._min_segment_ticks
                self._close_part(last_in_segment=True)
                self._segment_start = out_dts
                self._open_segment(out_dts)
            elif self._part_ticks + min(self._recent_durations) > self._part_target_ticks:
                # The next frame would not fit: close now, a frame earlier. The estimate is the shortest recent
                # frame: a late or bunched frame (common right after connecting) must not cut parts short, which
                # would also push every later part boundary off the keyframes.
                self._close_part(last_in_segment=False)
            elif self._last_part_would_be_short(out_dts):
                self._close_part(last_in_segment=False)
        if keyframe:
            if self._last_keyframe_dts is not None:
                self._keyframe_ticks = out_dts - self._last_keyframe_dts
            self._last_keyframe_dts = out_dts
        self._pending_video = Sample(out_dts, pts + self._video_offset, 0, keyframe, data)

    def add_audio(self, dts: int, data: SampleData) -> None:
        """An audio frame with its source dts; frames before the first keyframe are dropped."""
        if self._header is None or self._audio_timescale is None:
            return
        out_dts = dts + self._audio_offset
        if out_dts < self._audio_start:
            return
        pending = self._pending_audio
        if pending is not None:
            pending.duration = out_dts - pending.dts
            self._last_audio_duration = pending.duration
            self._part_audio.append(pending)
        self._pending_audio = Sample(out_dts, out_dts, 0, True, data)

    def flush(self) -> None:
        """The run ended: close the open part as the last of its segment and advance the timeline cursor."""
        if self._header is None:
            return
        if self._pending_video is not None:
            self._pending_video.duration = self._last_video_duration
            self._part_video.append(self._pending_video)
            self._part_ticks += self._last_video_duration
            self._pending_video = None
        if self._pending_audio is not None:
            self._pending_audio.duration = self._last_audio_duration
            self._part_audio.append(self._pending_audio)
            self._pending_audio = None
        end_ticks = self._segment_start + self._part_ticks
        if self._part_video:
            end_ticks = self._part_video[-1].dts + self._part_video[-1].duration
        self._close_part(last_in_segment=True)
        self._timeline.time_cursor = max(self._timeline.time_cursor, end_ticks / self._video_timescale)
        self._header = None

    # -- internals ----------------------------------------------------------------------------------------------

    def _last_part_would_be_short(self, part_end: int) -> bool:
        """True when the open part, ending at `part_end`, should close early: the foreseen keyframe will end the
        segment, everything up to it fits in one more part, and filling the open part first would leave a last part
        shorter than MIN_LAST_PART_S (see there)."""
        if self._keyframe_ticks is None or self._last_keyframe_dts is None:
            return False
        next_keyframe = self._last_keyframe_dts + self._keyframe_ticks
        if next_keyframe - self._segment_start < self._segment_min_ticks:
            return False  # that keyframe will not end the segment
        rest = next_keyframe - part_end
        if not self._min_last_part_ticks <= rest <= self._part_target_ticks:
            return False
        frame = min(self._recent_durations)
        room = (self._part_target_ticks - self._part_ticks) // frame * frame  # what the open part could still take
        return 0 < rest - room < self._min_last_part_ticks

    def _start_timeline(self, first_dts: int) -> None:
        cursor = self._timeline.time_cursor
        self._video_offset = round(cursor * self._video_timescale) - first_dts
        if self._audio_timescale is not None:
            first_seconds = first_dts / self._video_timescale
            self._audio_offset = round((cursor - first_seconds) * self._audio_timescale)
            self._audio_start = round(cursor * self._audio_timescale)
        self._anchor_wallclock = self._clock()
        self._anchor_dts = first_dts + self._video_offset
        self._timeline.discontinuity += 1
        self._init = self._writer.init_segment()
        self._segment_start = first_dts + self._video_offset
        self._segment_min_ticks = self._first_segment_ticks
        self._open_segment(self._segment_start)

    def _open_segment(self, start_dts: int) -> None:
        assert self._init is not None
        offset = timedelta(seconds=(start_dts - self._anchor_dts) / self._video_timescale)
        self._header = SegmentHeader(
            sequence=self._timeline.next_sequence(),
            discontinuity=self._timeline.discontinuity,
            init=self._init,
            codecs=self._writer.codecs,
            program_date_time=self._anchor_wallclock + offset,
            width=self._size[0],
            height=self._size[1],
        )

    def _close_part(self, *, last_in_segment: bool) -> None:
        video = self._part_video
        if not video or self._header is None:
            return
        data = self._writer.fragment(self._timeline.next_fragment(), video, self._part_audio)
        part = Part(duration=self._part_ticks / self._video_timescale, independent=video[0].keyframe, data=data)
        self._part_video = []
        self._part_audio = []
        self._part_ticks = 0
        self._sink(self._header, part, last_in_segment)
