"""Bitstream helpers of the fMP4 package: NAL framing, parameter sets, avcC/hvcC, ADTS/ASC and codec strings, checked
against what ffmpeg's encoders write and ffprobe reports."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import av
import pytest

from custom_components.stream.remux.fmp4 import (
    Fmp4Writer,
    aac,
    annexb_to_length_prefixed,
    annexb_with_parameter_sets,
    find_parameter_sets,
    h264,
    hevc,
    make_audio_track,
    make_video_track,
    split_annexb,
    split_length_prefixed,
)
from custom_components.stream.remux.fmp4.codecs import aac_codec_string, avc_codec_string, hevc_codec_string
from custom_components.stream.remux.fmp4.nal import length_prefix_in_place, unescape_rbsp
from custom_components.stream.remux.media import Sample

from .test_fmp4_support import demux, encode, ffmpeg, ffprobe

_PARAMETER_SETS_ONLY = ("-bsf:v", "filter_units=pass_types=32-34")  # keep VPS/SPS/PPS of an HEVC stream


# -- NAL unit framing ----------------------------------------------------------------------------------------------


def test_split_annexb_handles_both_start_codes_and_trailing_zeros() -> None:
    stream = b"\x09junk\x00\x00\x00\x01\x67AB\x00\x00\x01\x68CD\x00\x00\x00\x00\x01\x65EF\x00\x00"
    assert split_annexb(stream) == [b"\x67AB", b"\x68CD", b"\x65EF"]
    assert split_annexb(b"no start code") == []


def test_length_prefixed_round_trip() -> None:
    units = [b"\x67" + b"\x11" * 300, b"\x68\x01", b"\x65" + b"\x00\x00\x03\x01" * 100]
    annexb = b"".join(b"\x00\x00\x00\x01" + unit for unit in units)
    sample = annexb_to_length_prefixed(annexb)
    assert sample[:4] == (301).to_bytes(4)
    assert split_length_prefixed(sample) == units
    with pytest.raises(ValueError, match="exceeds"):
        split_length_prefixed(sample[:-1])


@pytest.mark.parametrize(
    ("annexb", "in_place"),
    [
        (b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x65" + b"\x00\x00\x03\x01" * 50 + b"\x80", True),
        (b"\x00\x00\x00\x01\x65\x00\x00\x03\x00\x00\x03\x01", True),  # emulation prevention is payload
        (b"\x00\x00\x00\x01\x09\xf0\x00\x00\x01\x65AB", False),  # a 3-byte start code inside
        (b"\x00\x00\x01\x65AB", False),  # a 3-byte start code first
        (b"\x00\x00\x00\x01\x67AB\x00\x00\x00\x00\x01\x65CD", False),  # trailing_zero_8bits
        (b"\x00\x00\x00\x01\x65AB\x00", False),  # zero at the end
        (b"\x00\x00\x00\x01\x00\x00\x00\x01\x65AB", False),  # empty unit
        (b"\x00\x00\x00\x01", False),
        (b"\x00\x00\x00\x01\x65AB\x00\x00\x00\x01", False),  # empty last unit
        (b"\x21\x10\x00\x00\x00\x01\x65AB", False),  # data before the first start code
    ],
)
def test_length_prefix_in_place_matches_the_general_conversion(annexb: bytes, in_place: bool) -> None:
    buffer = bytearray(annexb)
    assert length_prefix_in_place(buffer) is in_place
    if in_place:
        assert buffer == annexb_to_length_prefixed(annexb)


def test_length_prefix_in_place_on_random_access_units() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        # Units of random bytes biased to zeros and ones, so that start codes and zero runs turn up inside them.
        units = [bytes(rng.choice(b"\x00\x00\x01\x03\x65\xff") for _ in range(rng.randint(0, 12))) for _ in range(3)]
        codes = (b"\x00\x00\x00\x01",) * 3 + (b"\x00\x00\x01",)
        annexb = b"".join(rng.choice(codes) + unit for unit in units)
        buffer = bytearray(annexb)
        if length_prefix_in_place(buffer):
            assert buffer == annexb_to_length_prefixed(annexb), annexb


def test_unescape_rbsp_removes_emulation_prevention_only() -> None:
    assert unescape_rbsp(b"\x00\x00\x03\x01\x00\x00\x03\x00\x00\x03\x03") == b"\x00\x00\x01\x00\x00\x00\x00\x03"
    assert unescape_rbsp(b"\x00\x03\x00") == b"\x00\x03\x00"


# -- H.264 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "options", "expected"),
    [
        # 1080 rows are coded as 68 macroblocks (1088) and cropped.
        ("1920x1080", ("-profile:v", "high", "-level", "4.0"), (100, 1, 8, 1920, 1080)),
        ("162x94", ("-pix_fmt", "yuv422p10le", "-profile:v", "high422"), (122, 2, 10, 162, 94)),
        # Interlaced coding: field macroblock pairs, the crop counted in units of two rows.
        (
            "160x120",
            ("-profile:v", "main", "-flags", "+ildct", "-x264-params", "interlaced=1"),
            (77, 1, 8, 160, 120),
        ),
    ],
    ids=["1080p-high", "422-10bit", "interlaced"],
)
def test_h264_sps_fields(tmp_path: Path, size: str, options: tuple[str, ...], expected: tuple[int, ...]) -> None:
    source = demux(
        encode(tmp_path / "in.mp4", ["-c:v", "libx264", "-preset", "veryfast", *options], size=size, frames=1)
    )
    assert source.video.extradata is not None
    sps_list, pps_list, length_size = h264.parse_avcc(source.video.extradata)
    assert length_size == 4
    info = h264.parse_sps(sps_list[0])
    fields = (info.profile_idc, info.chroma_format_idc, info.bit_depth_luma, info.width, info.height)
    assert fields == expected
    assert info.level_idc == ffprobe(tmp_path / "in.mp4", "-show_streams")["streams"][0]["level"]
    # Our avcC is the one ffmpeg writes, extension bytes included.
    assert h264.build_avcc(sps_list, pps_list) == source.video.extradata
    # The demuxer's size and the SPS agree; 0x0 from a demuxer falls back to the SPS.
    assert (source.video.width, source.video.height) == (info.width, info.height)
    track = make_video_track("h264", 90000, 0, 0, source.video.extradata, None)
    assert (track.width, track.height) == (info.width, info.height)


def test_avc_codec_string_and_level_cap(tmp_path: Path) -> None:
    stream = tmp_path / "in.h264"
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=1920x1080", "-frames:v", "1"),
        *("-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-level", "4.0", str(stream)),
    )
    sets = find_parameter_sets("h264", None, stream.read_bytes())
    sps = sets.sps[0]
    assert avc_codec_string(sps) == "avc1.640028"  # High@4.0
    level_51 = sps[:3] + bytes((51,)) + sps[4:]
    assert h264.parse_sps(level_51).level_idc == 51
    assert avc_codec_string(level_51) == "avc1.640029"  # capped at 4.1 for Cast devices
    probe = ffprobe(stream, "-show_streams")["streams"][0]
    assert (probe["profile"], probe["level"], probe["width"], probe["height"]) == ("High", 40, 1920, 1080)


# -- HEVC ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pix_fmt", "profile", "prefix"),
    [("yuv420p", "Main", "hvc1.1.6.L"), ("yuv420p10le", "Main 10", "hvc1.2.4.L")],
)
def test_hevc_sps_hvcc_and_codec_string(tmp_path: Path, pix_fmt: str, profile: str, prefix: str) -> None:
    path = encode(
        tmp_path / "in.mp4",
        ["-c:v", "libx265", "-pix_fmt", pix_fmt, "-x265-params", "pools=none:log-level=error", "-tag:v", "hvc1"],
        size="200x90",  # 90 rows are coded as 96 and cropped by the conformance window
        frames=1,
    )
    source = demux(path)
    assert source.video.extradata is not None
    _units, length_size = hevc.parse_hvcc(source.video.extradata)
    assert length_size == 4
    sets = find_parameter_sets("hevc", source.video.extradata, None)
    assert (len(sets.vps), len(sets.sps), len(sets.pps)) == (1, 1, 1)
    info = hevc.parse_sps(sets.sps[0])
    depth = 10 if "10" in pix_fmt else 8
    assert (info.width, info.height, info.chroma_format_idc, info.bit_depth_luma) == (200, 90, 1, depth)

    probe = ffprobe(path, "-show_streams")["streams"][0]
    assert probe["profile"] == profile
    codec = hevc_codec_string(sets.sps[0])
    # x265 marks progressive, frame-only content: constraint byte 0x90, the zero bytes after it dropped.
    assert codec == f"{prefix}{probe['level']}.90"

    ours = hevc.build_hvcc(sets.vps, sets.sps, sets.pps)
    theirs = source.video.extradata
    assert ours[1:13] == theirs[1:13]  # profile_tier_level
    assert ours[16:19] == theirs[16:19]  # chroma format, bit depths
    assert ours[21] & 3 == 3
    assert hevc.parse_hvcc(ours) == (list(sets.units()), 4)


# -- finding parameter sets ----------------------------------------------------------------------------------------


def test_parameter_sets_from_the_first_keyframe_when_extradata_lacks_them(tmp_path: Path) -> None:
    source = demux(encode(tmp_path / "in.ts", ["-c:v", "libx264", "-g", "5"], frames=5))
    keyframe = source.video.packets[0].data
    assert source.video.extradata is not None
    from_extradata = find_parameter_sets("h264", source.video.extradata, None)
    # RTSP cameras often announce nothing: the keyframe's in-band SPS/PPS are enough.
    assert find_parameter_sets("h264", None, keyframe) == from_extradata
    assert find_parameter_sets("h264", b"\x01\x02garbage", keyframe) == from_extradata
    # And from a length-prefixed keyframe (an MP4 sample) too.
    assert find_parameter_sets("h264", None, annexb_to_length_prefixed(keyframe)) == from_extradata


def test_missing_parameter_sets_raise_a_clear_error(tmp_path: Path) -> None:
    idr_only = b"\x00\x00\x00\x01\x65\x88\x84\x00\x33"
    with pytest.raises(ValueError, match="No H264 parameter sets: the SPS and PPS are neither"):
        make_video_track("h264", 90000, 160, 120, None, idr_only)
    with pytest.raises(ValueError, match="SPS and PPS"):
        make_video_track("h264", 90000, 160, 120, b"", None)
    sps_only = b"\x00\x00\x00\x01\x67\x42\xc0\x0a\xd9\x02\x84\x7e" + idr_only
    with pytest.raises(ValueError, match="SPS and PPS"):
        make_video_track("h264", 90000, 160, 120, None, sps_only)
    # An HEVC stream needs its VPS as well.
    path = tmp_path / "sets.hevc"
    ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=160x120", "-frames:v", "1"),
        *("-c:v", "libx265", "-x265-params", "pools=none:log-level=error", *_PARAMETER_SETS_ONLY, str(path)),
    )
    sets = find_parameter_sets("hevc", path.read_bytes(), None)
    without_vps = b"".join(b"\x00\x00\x00\x01" + unit for unit in (*sets.sps, *sets.pps))
    with pytest.raises(ValueError, match="No HEVC parameter sets: the VPS, SPS and PPS"):
        make_video_track("hevc", 90000, 160, 120, without_vps, None)
    with pytest.raises(ValueError, match="Unsupported video codec 'vp9'"):
        make_video_track("vp9", 90000, 160, 120, None, None)


def test_annexb_with_parameter_sets_decodes_alone(tmp_path: Path) -> None:
    source = demux(encode(tmp_path / "in.mp4", ["-c:v", "libx264", "-g", "5", "-bf", "0"], frames=5))
    track = make_video_track("h264", 12800, 0, 0, source.video.extradata, None)
    writer = Fmp4Writer(track)
    idr = bytes(writer.video_sample_data(source.video.packets[0].data))
    assert idr == source.video.packets[0].data  # AVCC in, AVCC out: unchanged
    annexb = annexb_with_parameter_sets("h264", track.parameter_sets, idr)
    units = split_annexb(annexb)
    assert [h264.nal_type(unit) for unit in units[:2]] == [h264.NAL_SPS, h264.NAL_PPS]
    # Decodes with nothing else: a WebRTC peer joining at this keyframe sees a picture.
    decoder = av.CodecContext.create("h264", "r")
    frames = [*decoder.decode(av.Packet(annexb)), *decoder.decode(None)]
    assert [(frame.width, frame.height) for frame in frames] == [(160, 120)]
    # Parameter sets already in band are not repeated; an access unit delimiter stays first.
    assert (
        split_annexb(annexb_with_parameter_sets("h264", track.parameter_sets, annexb_to_length_prefixed(annexb)))
        == units
    )
    aud = b"\x09\xf0"
    with_aud = annexb_with_parameter_sets(
        "h264", track.parameter_sets, annexb_to_length_prefixed(b"\0\0\1" + aud + b"\0\0\1" + idr[4:])
    )
    assert split_annexb(with_aud)[:3] == [aud, *track.parameter_sets.units()]


def test_video_sample_data_normalizes_every_framing(tmp_path: Path) -> None:
    source = demux(encode(tmp_path / "in.ts", ["-c:v", "libx264", "-g", "5"], frames=2))
    annexb = source.video.packets[0].data
    expected = annexb_to_length_prefixed(annexb)
    units = split_length_prefixed(expected)
    annexb_track = make_video_track("h264", 90000, 0, 0, source.video.extradata, None)
    assert annexb_track.packet_nal_length_size == 0
    assert Fmp4Writer(annexb_track).video_sample_data(annexb) == expected
    assert Fmp4Writer(annexb_track).video_sample_data(expected) == expected  # already length-prefixed
    avcc_track = dataclasses.replace(annexb_track, packet_nal_length_size=4)
    assert Fmp4Writer(avcc_track).video_sample_data(annexb) == expected  # Annex-B despite avcC extradata
    short_track = dataclasses.replace(annexb_track, packet_nal_length_size=2)
    two_byte = b"".join(len(unit).to_bytes(2) + unit for unit in units)
    assert Fmp4Writer(short_track).video_sample_data(two_byte) == expected


# -- AAC -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "channels", "config"),
    [(48000, 2, b"\x11\x90"), (44100, 1, b"\x12\x08"), (16000, 1, b"\x14\x08")],
)
def test_adts_to_audio_specific_config(tmp_path: Path, rate: int, channels: int, config: bytes) -> None:
    args = ["-c:a", "aac", "-ar", str(rate), "-ac", str(channels), "-t", "0.2"]
    ffmpeg("-f", "lavfi", "-i", f"sine=sample_rate={rate}", *args, str(tmp_path / "in.aac"))
    ffmpeg("-f", "lavfi", "-i", f"sine=sample_rate={rate}", *args, str(tmp_path / "in.m4a"))
    with av.open(str(tmp_path / "in.aac")) as container:
        adts = [bytes(p) for p in container.demux(audio=0) if p.size]
    with av.open(str(tmp_path / "in.m4a")) as container:
        extradata = container.streams.audio[0].codec_context.extradata
        raw = [bytes(p) for p in container.demux(audio=0) if p.size]
    assert extradata is not None

    header = aac.parse_adts(adts[0])
    assert (header.object_type, header.sample_rate, header.channel_config) == (2, rate, channels)
    assert (header.header_size, header.frame_length) == (7, len(adts[0]))
    assert header.audio_specific_config() == config == extradata[:2]
    assert aac.parse_audio_specific_config(config) == (2, rate, channels)
    assert aac_codec_string(config) == "mp4a.40.2"
    # The same encoder on the same input: raw frames are the ADTS payloads.
    assert [aac.strip_adts(frame) for frame in adts] == raw

    track = make_audio_track("aac", rate, 0, 0, None, adts[0])
    assert (track.sample_rate, track.channels, track.config, track.codec_string) == (
        rate,
        channels,
        config,
        "mp4a.40.2",
    )
    assert make_audio_track("aac", rate, rate, channels, extradata, adts[0]).config == extradata


def test_adts_with_crc_and_escaped_configs() -> None:
    # protection_absent = 0: a 9-byte header with CRC.
    frame = bytes((0xFF, 0xF0, 0x4C, 0x80, 0x02, 0x1F, 0xFC, 0xAA, 0xBB)) + b"payload"
    assert len(frame) == 16
    header = aac.parse_adts(frame)
    assert (header.header_size, header.frame_length, header.sample_rate) == (9, 16, 48000)
    assert aac.strip_adts(frame) == b"payload"
    assert aac.strip_adts(b"\x21\x10raw") == b"\x21\x10raw"
    # audioObjectType 31 escapes to 32 + 6 bits (here 42, USAC); sampling index 15 is an explicit 24-bit rate.
    escaped = int(("11111" + "001010" + "1111" + f"{96000:024b}" + "0010").ljust(48, "0"), 2).to_bytes(6)
    assert aac.parse_audio_specific_config(escaped) == (42, 96000, 2)
    assert aac_codec_string(escaped) == "mp4a.40.42"


def test_unsupported_audio_raises() -> None:
    with pytest.raises(ValueError, match="No AAC AudioSpecificConfig"):
        make_audio_track("aac", 48000, 48000, 2, None, b"\x21\x10raw")
    with pytest.raises(ValueError, match="Unsupported audio codec 'opus'"):
        make_audio_track("opus", 48000, 48000, 2, None, None)
    assert make_audio_track("mp3float", 90000, 44100, 2, None, None).codec_string == "mp4a.40.34"


# -- fragment() ----------------------------------------------------------------------------------------------------


def test_fragment_rejects_what_it_cannot_write(tmp_path: Path) -> None:
    source = demux(encode(tmp_path / "in.ts", ["-c:v", "libx264"], frames=1))
    writer = Fmp4Writer(make_video_track("h264", 90000, 0, 0, source.video.extradata, None))
    with pytest.raises(ValueError, match="at least one sample"):
        writer.fragment(1, [])
    with pytest.raises(ValueError, match="Negative decode time"):
        writer.fragment(1, [Sample(-1, 0, 3000, True, b"\0\0\0\1\x65")])
    with pytest.raises(ValueError, match="without an audio track"):
        writer.fragment(1, [], [Sample(0, 0, 1024, True, b"x")])
