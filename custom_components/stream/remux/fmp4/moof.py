"""Media fragments: one moof (a traf per track) and one mdat, built from samples with a few struct.packs."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from ..media import Sample
from .boxes import box, full_box
from .tracks import AUDIO_TRACK_ID, VIDEO_TRACK_ID

_SYNC = 0x02000000  # sample_depends_on = 2 (depends on no other sample)
_NON_SYNC = 0x01010000  # sample_depends_on = 1, sample_is_non_sync_sample = 1
_DEFAULT_BASE_IS_MOOF = 0x020000
_DEFAULT_SAMPLE_FLAGS = 0x000020
# trun flags: data offset, then per sample: duration, size (+ flags + composition offset for video).
_VIDEO_TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800
_AUDIO_TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200
_VIDEO_ENTRY = struct.Struct(">IIIi")
_AUDIO_ENTRY = struct.Struct(">II")
_TRUN_HEADER = struct.Struct(">Ii")
_MDAT_HEADER = struct.Struct(">I4s")

# Box sizes are fixed apart from the per-sample entries, so data offsets are known before building.
_MFHD_SIZE = 16
_VIDEO_TRAF_SIZE = 8 + 16 + 20 + 20  # traf + tfhd + tfdt v1 + trun header
_AUDIO_TRAF_SIZE = 8 + 20 + 20 + 20  # tfhd also carries the default sample flags


def _tfdt(decode_time: int) -> bytes:
    if decode_time < 0:
        raise ValueError(f"Negative decode time {decode_time}: shift the timestamps before muxing")
    return full_box(b"tfdt", 1, 0, struct.pack(">Q", decode_time))


def _video_traf(samples: Sequence[Sample], data_offset: int) -> bytes:
    pack = _VIDEO_ENTRY.pack
    entries = b"".join(
        [pack(s.duration, len(s.data), _SYNC if s.keyframe else _NON_SYNC, s.pts - s.dts) for s in samples]
    )
    return box(
        b"traf",
        full_box(b"tfhd", 0, _DEFAULT_BASE_IS_MOOF, struct.pack(">I", VIDEO_TRACK_ID)),
        _tfdt(samples[0].dts),
        full_box(b"trun", 1, _VIDEO_TRUN_FLAGS, _TRUN_HEADER.pack(len(samples), data_offset), entries),
    )


def _audio_traf(samples: Sequence[Sample], data_offset: int) -> bytes:
    pack = _AUDIO_ENTRY.pack
    entries = b"".join([pack(s.duration, len(s.data)) for s in samples])
    flags = _DEFAULT_BASE_IS_MOOF | _DEFAULT_SAMPLE_FLAGS
    return box(
        b"traf",
        full_box(b"tfhd", 0, flags, struct.pack(">II", AUDIO_TRACK_ID, _SYNC)),
        _tfdt(samples[0].dts),
        full_box(b"trun", 0, _AUDIO_TRUN_FLAGS, _TRUN_HEADER.pack(len(samples), data_offset), entries),
    )


def build_fragment(sequence_number: int, video: Sequence[Sample], audio: Sequence[Sample]) -> bytes:
    """moof + mdat holding `video` then `audio` (either may be empty, not both); sample data must already be in
    MP4 form (length-prefixed NAL units, raw AAC frames)."""
    if not video and not audio:
        raise ValueError("A fragment needs at least one sample")
    moof_size = 8 + _MFHD_SIZE
    if video:
        moof_size += _VIDEO_TRAF_SIZE + _VIDEO_ENTRY.size * len(video)
    if audio:
        moof_size += _AUDIO_TRAF_SIZE + _AUDIO_ENTRY.size * len(audio)
    payload = [s.data for s in video]
    video_size = sum(map(len, payload))
    payload += [s.data for s in audio]
    data_offset = moof_size + 8  # trun offsets count from the start of the moof (default-base-is-moof)
    trafs = []
    if video:
        trafs.append(_video_traf(video, data_offset))
    if audio:
        trafs.append(_audio_traf(audio, data_offset + video_size))
    moof = box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence_number)), *trafs)
    mdat_header = _MDAT_HEADER.pack(8 + sum(map(len, payload)), b"mdat")
    return b"".join((moof, mdat_header, *payload))
