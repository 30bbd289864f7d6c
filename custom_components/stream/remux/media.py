"""The media model shared by the worker and every output: samples in, fMP4 parts and segments out.

Data flows one way: the worker thread demuxes samples, cuts them into parts (moof+mdat) and hands each finished part
to the event loop, where `MediaBuffer` keeps the last few segments for HLS, the recorder and snapshots.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

# A sample's bytes: the worker rewrites video packets in a bytearray of their own (see Fmp4Writer.video_sample_data).
type SampleData = bytes | bytearray


@dataclass(slots=True)
class Sample:
    """One access unit of a track, timestamps in the track's timescale."""

    dts: int
    pts: int
    duration: int
    keyframe: bool
    data: SampleData


@dataclass(frozen=True, slots=True)
class Part:
    """One CMAF chunk (moof+mdat); its duration comes from the media timestamps it holds."""

    duration: float
    independent: bool
    data: bytes


@dataclass(frozen=True, slots=True)
class SegmentHeader:
    """What a segment knows when its first part is cut."""

    sequence: int
    discontinuity: int  # discontinuity sequence: grows by one on every worker (re)start
    init: bytes  # ftyp+moov for this segment's tracks
    codecs: str  # RFC 6381 CODECS attribute for the master playlist
    program_date_time: datetime  # wall clock of the segment's first sample
    width: int = 0
    height: int = 0


@dataclass(slots=True)
class Segment:
    """A run of parts that starts on a keyframe."""

    header: SegmentHeader
    parts: list[Part] = field(default_factory=list)
    complete: bool = False

    @property
    def sequence(self) -> int:
        return self.header.sequence

    @property
    def discontinuity(self) -> int:
        return self.header.discontinuity

    @property
    def init(self) -> bytes:
        return self.header.init

    @property
    def duration(self) -> float:
        return sum(part.duration for part in self.parts)

    def data(self) -> bytes:
        return b"".join(part.data for part in self.parts)

    def size(self) -> int:
        return sum(len(part.data) for part in self.parts)


class MediaBuffer:
    """The last `max_segments` segments of one stream. Lives on the event loop; waiters wake on every new part."""

    def __init__(self, max_segments: int) -> None:
        self._segments: deque[Segment] = deque(maxlen=max_segments)
        self._changed: asyncio.Future[None] | None = None
        self._closed = False
        self._down = False  # the last run failed and no part has come since
        self._listeners: list[Callable[[Segment, Part], None]] = []

    # -- writing (event loop only; the worker calls through loop.call_soon_threadsafe) --------------------------

    def add_part(self, header: SegmentHeader, part: Part, last_in_segment: bool) -> None:
        """Append a part, opening the segment `header` describes if it is new."""
        segment = self._segments[-1] if self._segments else None
        if segment is None or segment.sequence != header.sequence:
            if segment is not None:
                segment.complete = True
            segment = Segment(header)
            self._segments.append(segment)
        segment.parts.append(part)
        segment.complete = last_in_segment
        self._down = False
        for listener in self._listeners:
            listener(segment, part)
        self._notify()

    def end_segment(self) -> None:
        """The source stopped or restarted: the newest segment is as complete as it will get."""
        if self._segments and not self._segments[-1].complete:
            if self._segments[-1].parts:
                self._segments[-1].complete = True
            else:
                self._segments.pop()
            self._notify()

    def source_down(self) -> None:
        """The source failed (the worker will try it again): the newest segment ends, and every waiter wakes to
        learn that no media is coming until a part arrives again (`down`)."""
        self._down = True
        self.end_segment()
        self._notify()

    def add_listener(self, listener: Callable[[Segment, Part], None]) -> Callable[[], None]:
        """Call `listener` for every new part (recorder, snapshots); returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def close(self) -> None:
        """Wake every waiter for good (the stream stopped)."""
        self._closed = True
        self._notify()

    def release(self) -> None:
        """Drop every segment (the stream stopped and nothing reads it any more): its memory goes back at once."""
        self._segments.clear()
        self._notify()

    def reopen(self) -> None:
        """Start over empty for a new run of the stream."""
        self._segments.clear()
        self._closed = False
        self._down = False

    # -- reading ------------------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def down(self) -> bool:
        """The source failed and has sent nothing since: waiting for media is pointless for now."""
        return self._down

    @property
    def segments(self) -> list[Segment]:
        return list(self._segments)

    @property
    def last_segment(self) -> Segment | None:
        return self._segments[-1] if self._segments else None

    @property
    def last_sequence(self) -> int:
        return self._segments[-1].sequence if self._segments else -1

    def get_segment(self, sequence: int) -> Segment | None:
        for segment in reversed(self._segments):
            if segment.sequence == sequence:
                return segment
        return None

    def memory_size(self) -> int:
        return sum(segment.size() + len(segment.init) for segment in self._segments)

    async def wait_for_change(self, timeout: float | None) -> bool:
        """Wait until the next part arrives (or the buffer closes); False on timeout or when closed."""
        if self._closed:
            return False
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._changed)
        except TimeoutError:
            return False
        return not self._closed

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until `predicate()` holds, re-checking on every change; False on timeout or close."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not predicate():
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            if not await self.wait_for_change(remaining):
                return predicate()
        return True

    def _notify(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        self._changed = None
