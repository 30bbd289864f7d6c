"""Fuzz: SPS/PPS/VPS, avcC/hvcC and the search for parameter sets, on random bytes and damaged real ones; only
ValueError (a track that can't be described, a keyframe to skip) comes out."""

from __future__ import annotations

import random
from typing import cast

import pytest

from custom_components.stream.outputs.live.video import AnnexBConverter
from custom_components.stream.remux.fmp4 import codecs, h264, hevc, make_video_track
from custom_components.stream.remux.fmp4.nal import split_annexb, split_nal_units
from custom_components.stream.remux.fmp4.parameter_sets import (
    VideoCodec,
    find_parameter_sets,
    packet_nal_length_size,
)

from .fuzz_support import RealStream, cases, mutate, only_value_errors

CASES = 2000


def _streams(streams: list[RealStream], codec: str) -> list[RealStream]:
    return [stream for stream in streams if stream.codec == codec]


def _parameter_set_units(streams: list[RealStream], codec: str) -> list[bytes]:
    """The real VPS/SPS/PPS of `codec`, from the TS files' first keyframe (in band)."""
    units = []
    for stream in _streams(streams, codec):
        if stream.name.endswith("ts"):
            units += split_annexb(stream.video_packets[0])[:4]
    return units


def _records(streams: list[RealStream], codec: str) -> list[bytes]:
    """The real avcC/hvcC records (MP4 extradata)."""
    return [stream.extradata for stream in _streams(streams, codec) if stream.extradata and stream.name.endswith("mp4")]


def test_h264_sps(real_samples: list[RealStream]) -> None:
    samples = [unit for unit in _parameter_set_units(real_samples, "h264") if h264.nal_type(unit) == h264.NAL_SPS]
    assert samples
    only_value_errors(h264.parse_sps, 21, CASES, samples)
    only_value_errors(codecs.avc_codec_string, 22, CASES, samples)
    only_value_errors(lambda data: h264.parse_sps(b"\x67" + data), 23, CASES, [])  # random bodies behind an SPS header


def test_hevc_sps(real_samples: list[RealStream]) -> None:
    samples = [unit for unit in _parameter_set_units(real_samples, "hevc") if hevc.nal_type(unit) == hevc.NAL_SPS]
    assert samples
    only_value_errors(hevc.parse_sps, 24, CASES, samples)
    only_value_errors(codecs.hevc_codec_string, 25, CASES, samples)
    only_value_errors(lambda data: hevc.parse_sps(b"\x42\x01" + data), 26, CASES, [])


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_avcc_and_hvcc_records(real_samples: list[RealStream], codec: str) -> None:
    parse = h264.parse_avcc if codec == "h264" else hevc.parse_hvcc
    records = _records(real_samples, codec)
    assert records
    only_value_errors(parse, 27, CASES, records)
    for index, data in cases(26, CASES, records):
        assert packet_nal_length_size(cast("VideoCodec", codec), data) in (0, 1, 2, 4), index


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_track_from_damaged_extradata_and_keyframe(real_samples: list[RealStream], codec: str) -> None:
    """The writer's track (parameter sets found, SPS parsed, avcC/hvcC built) from a damaged extradata and first
    keyframe, as a damaged source hands them to the packet loop."""
    rng = random.Random(27)
    streams = _streams(real_samples, codec)
    refused = 0
    for index in range(CASES):
        stream = rng.choice(streams)
        extradata = stream.extradata if rng.random() < 0.3 else mutate(rng, stream.extradata or b"")
        keyframe = mutate(rng, stream.video_packets[0])
        try:
            find_parameter_sets(cast("VideoCodec", codec), extradata or None, keyframe)
            make_video_track(codec, 90000, 0, 0, extradata or None, keyframe)
        except ValueError:
            refused += 1
        except Exception as err:
            raise AssertionError(f"case {index}: {type(err).__name__}: {err}") from err
    assert refused < CASES


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_annexb_converter(real_samples: list[RealStream], codec: str) -> None:
    """The live feed's conversion of each packet: a damaged one raises ValueError (the packet loop drops it for
    live viewers), a whole one converts."""
    for stream in _streams(real_samples, codec):
        converter = AnnexBConverter(cast("VideoCodec", codec), stream.extradata)
        packets = stream.video_packets
        for index, data in cases(28, CASES, packets):
            try:
                annexb = converter.convert(data, keyframe=index % 3 == 0)
            except ValueError:
                continue
            except Exception as err:
                raise AssertionError(f"{stream.name} case {index}: {type(err).__name__}: {err}") from err
            assert annexb is None or isinstance(annexb, bytes)
        for data in packets:  # after all that damage, whole packets still convert
            annexb = converter.convert(data, keyframe=True)
            assert annexb is not None
            assert split_nal_units(annexb)


def test_annexb_converter_from_damaged_extradata(real_samples: list[RealStream]) -> None:
    rng = random.Random(29)
    for index in range(CASES):
        stream = rng.choice(real_samples)
        # Made when a run starts, outside the packet loop's guard: damaged extradata must not raise at all.
        converter = AnnexBConverter(cast("VideoCodec", stream.codec), mutate(rng, stream.extradata or b""))
        try:
            converter.convert(rng.choice(stream.video_packets), keyframe=True)
        except ValueError:
            continue
        except Exception as err:
            raise AssertionError(f"{stream.name} case {index}: {type(err).__name__}: {err}") from err
