"""The init segment: ftyp + moov describing the tracks, with empty sample tables (samples come in fragments)."""

from __future__ import annotations

import struct

from .aac import OBJECT_TYPE_AAC, OBJECT_TYPE_MP3, OBJECT_TYPE_MPEG2_AUDIO, esds
from .boxes import box, full_box
from .orientation import orientation_matrix
from .tracks import AUDIO_TRACK_ID, VIDEO_TRACK_ID, AudioTrack, VideoTrack

_MOVIE_TIMESCALE = 1000
_LANGUAGE_UND = 0x55C4  # "und" packed as three 5-bit letters
_DPI_72 = 0x00480000
_FTYP = box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6iso5mp41")
_EMPTY_TABLES = (
    full_box(b"stts", 0, 0, bytes(4)),
    full_box(b"stsc", 0, 0, bytes(4)),
    full_box(b"stsz", 0, 0, bytes(8)),
    full_box(b"stco", 0, 0, bytes(4)),
)
_DINF = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))  # 1 = data in this file


def _mvhd(next_track_id: int) -> bytes:
    return full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIIIiH", 0, 0, _MOVIE_TIMESCALE, 0, 0x00010000, 0x0100),  # times, timescale, rate, volume
        bytes(10),
        orientation_matrix(1),
        bytes(24),
        struct.pack(">I", next_track_id),
    )


def _tkhd(track_id: int, volume: int, matrix: bytes, width: int, height: int) -> bytes:
    return full_box(
        b"tkhd",
        0,
        3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, track_id, 0, 0),  # creation, modification, id, reserved, duration
        bytes(8),
        struct.pack(">hhhH", 0, 0, volume, 0),  # layer, alternate group, volume
        matrix,
        struct.pack(">II", width << 16, height << 16),
    )


def _trak(timescale: int, tkhd: bytes, handler: bytes, media_header: bytes, entry: bytes) -> bytes:
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, _LANGUAGE_UND, 0))
    name = b"VideoHandler\x00" if handler == b"vide" else b"SoundHandler\x00"
    hdlr = full_box(b"hdlr", 0, 0, bytes(4), handler, bytes(12), name)
    stbl = box(b"stbl", full_box(b"stsd", 0, 0, struct.pack(">I", 1), entry), *_EMPTY_TABLES)
    return box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", media_header, _DINF, stbl)))


def _video_trak(track: VideoTrack, orientation: int) -> bytes:
    fourcc, config_type = (b"avc1", b"avcC") if track.codec == "h264" else (b"hvc1", b"hvcC")
    entry = box(
        fourcc,
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(16),
        struct.pack(">HHIIIH", track.width, track.height, _DPI_72, _DPI_72, 0, 1),  # ..., frame_count
        bytes(32),  # compressorname
        struct.pack(">Hh", 0x18, -1),  # depth, pre_defined
        box(config_type, track.config),
    )
    tkhd = _tkhd(VIDEO_TRACK_ID, 0, orientation_matrix(orientation), track.width, track.height)
    vmhd = full_box(b"vmhd", 0, 1, bytes(8))
    return _trak(track.timescale, tkhd, b"vide", vmhd, entry)


def _audio_trak(track: AudioTrack) -> bytes:
    if track.codec == "aac":
        object_type = OBJECT_TYPE_AAC
    else:
        object_type = OBJECT_TYPE_MP3 if track.sample_rate >= 32000 else OBJECT_TYPE_MPEG2_AUDIO
    rate = track.sample_rate << 16 if track.sample_rate < 0x10000 else 0  # 16.16; decoders use the ASC anyway
    entry = box(
        b"mp4a",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(8),
        struct.pack(">HHHHI", track.channels, 16, 0, 0, rate),
        esds(object_type, track.config, AUDIO_TRACK_ID),
    )
    tkhd = _tkhd(AUDIO_TRACK_ID, 0x0100, orientation_matrix(1), 0, 0)
    smhd = full_box(b"smhd", 0, 0, bytes(4))
    return _trak(track.timescale, tkhd, b"soun", smhd, entry)


def _trex(track_id: int) -> bytes:
    return full_box(b"trex", 0, 0, struct.pack(">IIIII", track_id, 1, 0, 0, 0))


def build_init_segment(video: VideoTrack, audio: AudioTrack | None, orientation: int = 1) -> bytes:
    """ftyp + moov for the video track (id 1) and the optional audio track (id 2)."""
    traks = [_video_trak(video, orientation)]
    trexes = [_trex(VIDEO_TRACK_ID)]
    if audio is not None:
        traks.append(_audio_trak(audio))
        trexes.append(_trex(AUDIO_TRACK_ID))
    moov = box(b"moov", _mvhd(1 + len(traks)), *traks, box(b"mvex", *trexes))
    return _FTYP + moov
