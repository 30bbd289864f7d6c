"""Fuzz: the fMP4 writer's per-packet sample conversions and the timestamp validator, with damaged real packets and
absurd timestamps: a conversion raises only ValueError (the packet loop drops that packet), the validator only ever
gives a verdict (or, after too many packets without any dts, ends the run as documented)."""

from __future__ import annotations

import random

import pytest

from custom_components.stream.const import MAX_MISSING_DTS
from custom_components.stream.exceptions import StreamWorkerError
from custom_components.stream.remux.fmp4 import Fmp4Writer, make_audio_track, make_video_track
from custom_components.stream.source.timestamps import TimestampValidator, Verdict

from .fuzz_support import RealStream, only_value_errors

CASES = 3000


def _writer(stream: RealStream) -> Fmp4Writer:
    video = stream.demuxed.video
    audio = stream.demuxed.audio
    assert audio is not None
    return Fmp4Writer(
        make_video_track(
            video.codec, video.timescale, video.width, video.height, video.extradata, stream.video_packets[0]
        ),
        make_audio_track(
            "aac", audio.timescale, audio.sample_rate, audio.channels, audio.extradata, stream.audio_packets[0]
        ),
    )


@pytest.mark.parametrize("name", ["h264-mp4", "h264-ts", "hevc-mp4", "hevc-ts"])
def test_writer_sample_conversions(real_samples: list[RealStream], name: str) -> None:
    stream = next(stream for stream in real_samples if stream.name == name)
    writer = _writer(stream)
    only_value_errors(writer.video_sample_data, 41, CASES, stream.video_packets)
    only_value_errors(lambda data: writer.video_sample_data(bytearray(data)), 42, CASES // 3, stream.video_packets)
    only_value_errors(writer.audio_sample_data, 43, CASES, stream.audio_packets)


def _timestamp(rng: random.Random, last: int) -> int | None:
    kind = rng.randrange(8)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice((0, -1, 2**63 - 1, -(2**63), 2**33, 2**64 + 5))
    if kind == 2:
        return rng.randrange(-(2**40), 2**40)
    if kind == 3:
        return last  # a repeated dts
    return last + rng.randrange(-3000, 6000)


@pytest.mark.parametrize("timescale", [1, 1000, 90000, 2**31])
def test_timestamp_validator(timescale: int) -> None:
    rng = random.Random(timescale)
    validator = TimestampValidator(timescale)
    last, missing = 0, 0
    verdicts: set[Verdict] = set()
    for _ in range(CASES * 2):
        dts = _timestamp(rng, last)
        missing = missing + 1 if dts is None else 0
        if missing > MAX_MISSING_DTS:
            with pytest.raises(StreamWorkerError):
                validator.check(dts)
            missing = 0
            validator.reset()
            continue
        verdict = validator.check(dts)
        verdicts.add(verdict)
        if dts is not None and verdict is not Verdict.DROP:
            last = dts
    assert Verdict.ACCEPT in verdicts
    assert Verdict.DROP in verdicts
