"""The stream's own fMP4 fragments, read back for the recorder: re-timed to start at zero, trimmed to a keyframe.

The stream's timeline runs on from the first segment the worker ever cut (and across worker restarts), so a
recording made an hour in would otherwise start an hour into its own timeline. Re-timing only patches each tfdt;
trimming (the first and last fragment of a recording) parses the samples and builds the fragment anew.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from math import ceil, floor

from .fmp4.boxes import box, children, find_child, full_box, init_tracks
from .fmp4.moof import build_fragment
from .fmp4.tracks import AUDIO_TRACK_ID, VIDEO_TRACK_ID
from .media import Sample

_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_U64 = struct.Struct(">Q")
_FULL_BOX_HEADER = 12  # size, type, version and flags
_NON_SYNC_SAMPLE = 0x00010000  # sample_is_non_sync_sample in the sample flags
# tfhd flags
_BASE_DATA_OFFSET = 0x000001
_SAMPLE_DESCRIPTION_INDEX = 0x000002
_DEFAULT_DURATION = 0x000008
_DEFAULT_SIZE = 0x000010
_DEFAULT_FLAGS = 0x000020
# trun flags
_DATA_OFFSET = 0x000001
_FIRST_SAMPLE_FLAGS = 0x000004
_SAMPLE_DURATION = 0x000100
_SAMPLE_SIZE = 0x000200
_SAMPLE_FLAGS = 0x000400
_COMPOSITION_OFFSET = 0x000800


def track_timescales(init: bytes) -> dict[int, int]:
    """Track id -> media timescale, from the moov of an init segment."""
    timescales: dict[int, int] = {}
    for start, end in init_tracks(init):
        tkhd = find_child(init, (start, end), b"tkhd")
        mdia = find_child(init, (start, end), b"mdia")
        mdhd = find_child(init, mdia, b"mdhd") if mdia else None
        if tkhd is None or mdhd is None:
            raise ValueError("trak without tkhd or mdhd in the init segment")
        # Version 1 boxes carry 64-bit creation/modification times before the fields we read.
        track_id_at = tkhd[0] + _FULL_BOX_HEADER + (16 if init[tkhd[0] + 8] == 1 else 8)
        timescale_at = mdhd[0] + _FULL_BOX_HEADER + (16 if init[mdhd[0] + 8] == 1 else 8)
        timescales[_U32.unpack_from(init, track_id_at)[0]] = _U32.unpack_from(init, timescale_at)[0]
    return timescales


# -- re-timing --------------------------------------------------------------------------------------------------


def _trafs(fragment: bytes) -> list[tuple[int, int, tuple[int, int]]]:
    """(track id, tfdt box start, traf span) of every traf in the fragment's moof."""
    moof = find_child(fragment, None, b"moof")
    if moof is None:
        raise ValueError("moof box not found in the fragment")
    found = []
    for kind, start, end in children(fragment, moof):
        if kind != b"traf":
            continue
        tfhd = find_child(fragment, (start, end), b"tfhd")
        tfdt = find_child(fragment, (start, end), b"tfdt")
        if tfhd is None or tfdt is None:
            raise ValueError("traf without tfhd or tfdt in the fragment")
        found.append((_U32.unpack_from(fragment, tfhd[0] + _FULL_BOX_HEADER)[0], tfdt[0], (start, end)))
    return found


def _tfdt_field(fragment: bytes, tfdt_start: int) -> struct.Struct:
    return _U64 if fragment[tfdt_start + 8] == 1 else _U32


def decode_times(fragment: bytes) -> dict[int, int]:
    """Track id -> decode time (tfdt) of the fragment's first sample in that track."""
    return {
        track_id: _tfdt_field(fragment, tfdt).unpack_from(fragment, tfdt + _FULL_BOX_HEADER)[0]
        for track_id, tfdt, _ in _trafs(fragment)
    }


def start_offsets(first_fragment: bytes, timescales: dict[int, int]) -> dict[int, int]:
    """Per-track amounts to subtract so the earliest track of `first_fragment` starts at zero and the tracks keep
    their places relative to each other (rounded down, so no decode time becomes negative)."""
    times = decode_times(first_fragment)
    start = min(Fraction(times[track], timescales[track]) for track in times)
    return {track: floor(start * timescale) for track, timescale in timescales.items()}


def shift_decode_times(fragment: bytes, offsets: dict[int, int]) -> bytes:
    """A copy of `fragment` with `offsets[track]` subtracted from each traf's tfdt (never below zero)."""
    result = bytearray(fragment)
    for track_id, tfdt, _ in _trafs(fragment):
        field = _tfdt_field(fragment, tfdt)
        decode_time = field.unpack_from(fragment, tfdt + _FULL_BOX_HEADER)[0]
        field.pack_into(result, tfdt + _FULL_BOX_HEADER, max(0, decode_time - offsets.get(track_id, 0)))
    return bytes(result)


# -- samples ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Fragment:
    """The samples of one moof+mdat (timestamps in each track's timescale)."""

    sequence: int
    video: list[Sample]
    audio: list[Sample]

    def video_end(self) -> int:
        """Decode time just after the last video sample."""
        last = self.video[-1]
        return last.dts + last.duration

    def to_bytes(self) -> bytes:
        return build_fragment(self.sequence, self.video, self.audio)


def parse_fragment(data: bytes) -> Fragment:
    """The samples of a moof+mdat of one video and at most one audio track (our writer's track ids)."""
    moof = find_child(data, None, b"moof")
    mfhd = find_child(data, moof, b"mfhd") if moof else None
    if moof is None or mfhd is None:
        raise ValueError("moof or mfhd box not found in the fragment")
    tracks: dict[int, list[Sample]] = {VIDEO_TRACK_ID: [], AUDIO_TRACK_ID: []}
    for track_id, tfdt, traf in _trafs(data):
        decode_time = _tfdt_field(data, tfdt).unpack_from(data, tfdt + _FULL_BOX_HEADER)[0]
        samples = tracks.get(track_id)
        if samples is None:
            raise ValueError(f"Unexpected track {track_id} in the fragment")
        samples += _traf_samples(data, moof[0], traf, decode_time)
    return Fragment(
        _U32.unpack_from(data, mfhd[0] + _FULL_BOX_HEADER)[0], tracks[VIDEO_TRACK_ID], tracks[AUDIO_TRACK_ID]
    )


def _traf_samples(data: bytes, moof_start: int, traf: tuple[int, int], decode_time: int) -> list[Sample]:
    base, defaults = _track_fragment_defaults(data, moof_start, traf)
    samples: list[Sample] = []
    position = base
    for kind, start, _ in children(data, traf):
        if kind == b"trun":
            position, decode_time = _trun_samples(data, start, base, position, defaults, decode_time, samples)
    return samples


def _track_fragment_defaults(data: bytes, moof_start: int, traf: tuple[int, int]) -> tuple[int, tuple[int, int, int]]:
    """The data offsets' base and the (duration, size, flags) samples default to, from the traf's tfhd."""
    tfhd = find_child(data, traf, b"tfhd")
    assert tfhd is not None  # _trafs checked
    flags = _U32.unpack_from(data, tfhd[0] + 8)[0] & 0xFFFFFF
    at = tfhd[0] + _FULL_BOX_HEADER + 4  # after the track id
    base = moof_start
    if flags & _BASE_DATA_OFFSET:
        base = _U64.unpack_from(data, at)[0]
        at += 8
    if flags & _SAMPLE_DESCRIPTION_INDEX:
        at += 4
    defaults = [0, 0, 0]  # duration, size, flags
    for index, bit in enumerate((_DEFAULT_DURATION, _DEFAULT_SIZE, _DEFAULT_FLAGS)):
        if flags & bit:
            defaults[index] = _U32.unpack_from(data, at)[0]
            at += 4
    return base, (defaults[0], defaults[1], defaults[2])


def _trun_samples(
    data: bytes,
    start: int,
    base: int,
    position: int,
    defaults: tuple[int, int, int],
    decode_time: int,
    samples: list[Sample],
) -> tuple[int, int]:
    """Append the samples of the trun at `start`; returns where the next trun's data and decode time follow on."""
    version = data[start + 8]
    trun_flags = _U32.unpack_from(data, start + 8)[0] & 0xFFFFFF
    count = _U32.unpack_from(data, start + _FULL_BOX_HEADER)[0]
    at = start + _FULL_BOX_HEADER + 4
    if trun_flags & _DATA_OFFSET:
        position = base + _I32.unpack_from(data, at)[0]
        at += 4
    first_flags = None
    if trun_flags & _FIRST_SAMPLE_FLAGS:
        first_flags = _U32.unpack_from(data, at)[0]
        at += 4
    offset_format = _I32 if version else _U32
    for index in range(count):
        duration, size, sample_flags = defaults
        offset = 0
        if trun_flags & _SAMPLE_DURATION:
            duration = _U32.unpack_from(data, at)[0]
            at += 4
        if trun_flags & _SAMPLE_SIZE:
            size = _U32.unpack_from(data, at)[0]
            at += 4
        if trun_flags & _SAMPLE_FLAGS:
            sample_flags = _U32.unpack_from(data, at)[0]
            at += 4
        if trun_flags & _COMPOSITION_OFFSET:
            offset = offset_format.unpack_from(data, at)[0]
            at += 4
        if index == 0 and first_flags is not None:
            sample_flags = first_flags
        keyframe = not sample_flags & _NON_SYNC_SAMPLE
        samples.append(Sample(decode_time, decode_time + offset, duration, keyframe, data[position : position + size]))
        decode_time += duration
        position += size
    return position, decode_time


def trim_fragment(
    fragment: Fragment, timescales: dict[int, int], *, start: int | None = None, end: int | None = None
) -> Fragment | None:
    """The part of `fragment` from video decode time `start` (which must be a keyframe's) to before `end`; audio
    follows by time. None when no video sample is left."""
    video_scale = timescales[VIDEO_TRACK_ID]
    video = [s for s in fragment.video if (start is None or s.dts >= start) and (end is None or s.dts < end)]
    if not video:
        return None
    audio = fragment.audio
    if audio:
        audio_scale = timescales[AUDIO_TRACK_ID]
        # Audio frames that begin within the kept video's time span.
        first = ceil(Fraction(video[0].dts * audio_scale, video_scale)) if start is not None else None
        last = ceil(Fraction(end * audio_scale, video_scale)) if end is not None else None
        audio = [s for s in audio if (first is None or s.dts >= first) and (last is None or s.dts < last)]
    if len(video) == len(fragment.video) and len(audio) == len(fragment.audio):
        return fragment
    return Fragment(fragment.sequence, video, audio)


# -- random access index ----------------------------------------------------------------------------------------

_TFRA_ENTRY = struct.Struct(">QQBBB")  # time, moof offset, traf / trun / sample number (1 byte each)
MAX_INDEXED_SAMPLE = 255  # the largest sample number a 1-byte field holds


def build_mfra(track_id: int, entries: list[tuple[int, int, int]]) -> bytes:
    """A movie fragment random access box (mfra) listing the sync samples of one track as (presentation time,
    moof offset in the file, 1-based sample number in its trun), for players that seek with it."""
    body = b"".join(_TFRA_ENTRY.pack(time, offset, 1, 1, sample) for time, offset, sample in entries)
    tfra = full_box(b"tfra", 1, 0, struct.pack(">III", track_id, 0, len(entries)), body)
    return box(b"mfra", tfra, full_box(b"mfro", 0, 0, struct.pack(">I", 8 + len(tfra) + 16)))
