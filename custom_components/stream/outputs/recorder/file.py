"""The file a recording writes: our init segment (with the display orientation) followed by the stream's own
moof+mdat fragments, re-timed to start at zero, and an mfra index. The methods do blocking I/O: call them from the
executor (the constructor does none).

The result is a fragmented MP4, as the built-in writes. It starts on the keyframe at or before the lookback point
and ends `duration` seconds after the stream time of the call, trimmed to the frame. It goes to a hidden temporary
file beside the destination and is renamed into place only when the recording succeeds, so a failed or empty
recording leaves nothing behind and nobody sees half a file.

Audio follows the video's time span, not its fragments: audio the worker transcodes (G.711, Opus) reaches the
stream a few AAC frames after the video of its time, so each fragment's audio may begin before the file's first
keyframe (left out) and the audio of the file's last moments comes in the fragments after its end (written as
audio-only fragments, while audio keeps coming, up to `AUDIO_TAIL_FRAGMENTS`).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from fractions import Fraction
from math import ceil
from pathlib import Path
from typing import BinaryIO

from ...remux.fmp4.orientation import transform_init
from ...remux.fmp4.tracks import AUDIO_TRACK_ID, VIDEO_TRACK_ID
from ...remux.fragments import (
    MAX_INDEXED_SAMPLE,
    Fragment,
    build_mfra,
    parse_fragment,
    shift_decode_times,
    start_offsets,
    track_timescales,
    trim_fragment,
)

# Fragments after the video's end that may still bring audio of the file's span (a part is 0.2-1.5 s; transcoded
# audio is at most a few hundred milliseconds behind).
AUDIO_TAIL_FRAGMENTS = 4


class RecordingFile:
    """One recording in progress; `finish` publishes it at `video_path`, `discard` removes it. Thread-safe, so a
    `discard` after a cancelled caller waits for a write still running in the executor."""

    def __init__(self, video_path: str, orientation: int, duration: float) -> None:
        """No I/O: the temporary file is created with the first fragment."""
        self.path = Path(video_path)
        self.temp_path = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        self._orientation = orientation
        self._duration = duration
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._closed = False
        self._init: bytes | None = None
        self._timescales: dict[int, int] = {}
        self._offsets: dict[int, int] = {}
        self._first_dts: int | None = None  # video decode time the file starts at (stream timeline)
        self._last_end: int | None = None  # ... and ends at
        self._end_at: int | None = None  # ... must end at: the stream time of the call plus the duration
        self._size = 0  # bytes written so far
        self._sync_samples: list[tuple[int, int, int]] = []  # (time, moof offset, sample number) for the mfra
        self._audio_from = 0  # audio decode time the file starts at: its first keyframe's time
        self._audio_end = 0  # ... and written up to
        self._video_done = False  # the video reached `_end_at`; audio of the span may still come
        self._tail_fragments = 0  # fragments looked at for audio after the video's end
        self.complete = False

    @property
    def fragments_written(self) -> bool:
        return self._first_dts is not None

    @property
    def seconds(self) -> float:
        """Seconds of video in the file."""
        if self._first_dts is None or self._last_end is None:
            return 0.0
        return (self._last_end - self._first_dts) / self._timescales[VIDEO_TRACK_ID]

    def start(self, init: bytes, buffered: Sequence[bytes], lookback: float) -> None:
        """Begin with the buffered fragments (oldest first) covering `lookback` seconds before their end, from the
        keyframe at or before that point (or the oldest keyframe, when they don't reach back so far)."""
        with self._lock:
            if not buffered:
                return
            self._use_init(init)
            video_scale = self._timescales[VIDEO_TRACK_ID]
            buffered_end = parse_fragment(buffered[-1]).video_end()  # the stream time of the call, as far as we know
            self._end_at = buffered_end + round(self._duration * video_scale)
            start = _start_point(buffered, buffered_end - round(lookback * video_scale))
            if start is None:
                return  # no keyframe buffered: the file starts with the first live one
            index, fragment, keyframe = start
            trimmed = trim_fragment(fragment, self._timescales, start=keyframe)
            assert trimmed is not None  # it holds the keyframe
            self._write_fragment(trimmed.to_bytes(), trimmed)
            for data in buffered[index + 1 :]:
                self._write_fragment(data, parse_fragment(data))

    def write(self, init: bytes, fragments: Sequence[bytes]) -> bool:
        """Append fragments that arrived after the call; True once the file has its duration (the fragment that
        reaches it is trimmed there and later ones are ignored)."""
        with self._lock:
            self._use_init(init)
            for data in fragments:
                if self.complete:
                    break
                self._write_live(data, parse_fragment(data))
            return self.complete

    def finish(self) -> None:
        """Close the file and move it to its destination (replacing any file there)."""
        with self._lock:
            self._closed = True
            if self._file is None:
                raise ValueError("Nothing was written")
            self._file.write(build_mfra(VIDEO_TRACK_ID, self._sync_samples))  # an index for seeking, as FFmpeg writes
            self._file.close()
            self.temp_path.replace(self.path)

    def discard(self) -> None:
        """Close and delete the temporary file, if there is one."""
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self.temp_path.unlink(missing_ok=True)

    def _use_init(self, init: bytes) -> None:
        if self._init is None:
            self._init = init
            self._timescales = track_timescales(init)
        elif init != self._init:
            raise ValueError("A recording holds fragments of one init segment only")

    def _write_live(self, data: bytes, fragment: Fragment) -> None:
        if self._video_done:
            self._write_audio_tail(fragment)
            return
        kept: Fragment | None = fragment
        if self._first_dts is None:
            keyframe = next((sample.dts for sample in fragment.video if sample.keyframe), None)
            if keyframe is None:
                return  # the file must start on a keyframe
            kept = trim_fragment(fragment, self._timescales, start=keyframe)
        if kept is None:
            return
        if self._end_at is None:
            self._end_at = kept.video[0].dts + round(self._duration * self._timescales[VIDEO_TRACK_ID])
        if kept.video_end() >= self._end_at:
            self._video_done = True
            kept = trim_fragment(kept, self._timescales, end=self._end_at)
        if kept is not None:
            self._write_fragment(data if kept is fragment else kept.to_bytes(), kept)
        if self._video_done:  # done unless audio is flowing and has not reached the end yet
            self.complete = not fragment.audio or self._audio_until() <= self._audio_end

    def _audio_until(self) -> int:
        """Audio decode time the file ends at (0 without an audio track)."""
        scale = self._timescales.get(AUDIO_TRACK_ID)
        if scale is None or self._end_at is None:
            return 0
        return ceil(Fraction(self._end_at * scale, self._timescales[VIDEO_TRACK_ID]))

    def _write_audio_tail(self, fragment: Fragment) -> None:
        """The audio of the file's last moments, from a fragment after its end."""
        until = self._audio_until()
        audio = [sample for sample in fragment.audio if self._audio_from <= sample.dts < until]
        if audio:
            tail = Fragment(fragment.sequence, [], audio)
            self._write_fragment(tail.to_bytes(), tail)
        self._tail_fragments += 1
        passed = not fragment.audio or fragment.audio[-1].dts >= until  # no audio is coming, or it is past the end
        self.complete = passed or until <= self._audio_end or self._tail_fragments >= AUDIO_TAIL_FRAGMENTS

    def _write_fragment(self, data: bytes, fragment: Fragment) -> None:
        if self._closed:
            raise ValueError("The recording was finished or discarded")
        if self._file is None:
            assert self._init is not None
            self._file = self.temp_path.open("xb")  # "x": never clobber another writer's file
            self._size = self._file.write(transform_init(self._init, self._orientation))
            self._first_dts = fragment.video[0].dts
            self._offsets = start_offsets(data, self._timescales)
            if AUDIO_TRACK_ID in self._timescales:
                video_scale = self._timescales[VIDEO_TRACK_ID]
                self._audio_from = ceil(Fraction(self._first_dts * self._timescales[AUDIO_TRACK_ID], video_scale))
        elif fragment.audio and fragment.audio[0].dts < self._audio_from:
            fragment = Fragment(
                fragment.sequence, fragment.video, [s for s in fragment.audio if s.dts >= self._audio_from]
            )
            data = fragment.to_bytes()
        if fragment.audio:
            self._audio_end = fragment.audio[-1].dts + fragment.audio[-1].duration
        video_offset = self._offsets[VIDEO_TRACK_ID]
        self._sync_samples += [
            (sample.pts - video_offset, self._size, number)
            for number, sample in enumerate(fragment.video, 1)
            if sample.keyframe and number <= MAX_INDEXED_SAMPLE
        ]
        self._size += self._file.write(shift_decode_times(data, self._offsets))
        if fragment.video:
            self._last_end = fragment.video_end()


def _start_point(buffered: Sequence[bytes], lookback_point: int) -> tuple[int, Fragment, int] | None:
    """(index, parsed fragment, keyframe decode time) of the latest buffered keyframe not after `lookback_point`,
    else of the oldest keyframe; None when there is none."""
    oldest: tuple[int, Fragment, int] | None = None
    for index in range(len(buffered) - 1, -1, -1):
        fragment = parse_fragment(buffered[index])
        keyframes = [sample.dts for sample in fragment.video if sample.keyframe]
        if not keyframes:
            continue
        if keyframes[0] <= lookback_point:
            return index, fragment, max(dts for dts in keyframes if dts <= lookback_point)
        oldest = index, fragment, keyframes[0]
    return oldest
