"""Fuzz: ADTS headers, the AudioSpecificConfig, the audio track and the live Opus transcoder on random bytes and
damaged real AAC; low-level parsers raise only ValueError, and the transcoder drops what it cannot decode."""

from __future__ import annotations

import random

from custom_components.stream.outputs.live.opus import MAX_BAD_PACKETS, OpusTranscoder
from custom_components.stream.remux.fmp4 import make_audio_track
from custom_components.stream.remux.fmp4.aac import is_adts, parse_adts, parse_audio_specific_config, strip_adts
from custom_components.stream.source.tracks import adts_frame_ticks

from .fuzz_support import RealStream, cases, mutate, only_value_errors

CASES = 3000


def _adts_frames(streams: list[RealStream]) -> list[bytes]:
    frames = [data for stream in streams if stream.name.endswith("ts") for data in stream.audio_packets]
    assert frames
    assert all(is_adts(frame) for frame in frames)
    return frames


def _configs(streams: list[RealStream]) -> list[bytes]:
    configs = [stream.demuxed.audio.extradata for stream in streams if stream.demuxed.audio]
    return [config for config in configs if config]


def test_adts_parse_and_strip(real_samples: list[RealStream]) -> None:
    frames = _adts_frames(real_samples)
    only_value_errors(parse_adts, 31, CASES, frames)
    for index, data in cases(32, CASES, frames):
        stripped = strip_adts(data)
        assert len(stripped) <= len(data), index
        assert adts_frame_ticks(data, 48000) >= 0, index


def test_audio_specific_config(real_samples: list[RealStream]) -> None:
    configs = _configs(real_samples)
    assert configs
    only_value_errors(parse_audio_specific_config, 33, CASES, configs)


def test_audio_track_from_damaged_extradata_and_first_frame(real_samples: list[RealStream]) -> None:
    rng = random.Random(34)
    frames, configs = _adts_frames(real_samples), _configs(real_samples)
    refused = 0
    for index in range(CASES):
        extradata = mutate(rng, rng.choice(configs)) if rng.random() < 0.5 else None
        first = mutate(rng, rng.choice(frames))
        try:
            track = make_audio_track("aac", 48000, 0, 0, extradata, first)
        except ValueError:
            refused += 1
            continue
        except Exception as err:
            raise AssertionError(f"case {index}: {type(err).__name__}: {err}") from err
        assert track.codec_string.startswith("mp4a."), index
    assert refused < CASES


def test_opus_transcoder_drops_damaged_packets(real_samples: list[RealStream]) -> None:
    """Damaged AAC frames raise ValueError (one packet dropped) or decode; whole frames after them still make Opus,
    so one bad packet never ends live audio."""
    frames = _adts_frames(real_samples)
    transcoder = OpusTranscoder("aac", 48000, 2, None, run=1)
    rng = random.Random(35)
    dropped = 0
    for index in range(300):
        data = mutate(rng, rng.choice(frames)) if index % 2 else rng.randbytes(rng.randrange(64))
        try:
            transcoder.transcode(index * 1024 / 48000, data)
        except ValueError:
            dropped += 1
        except Exception as err:
            raise AssertionError(f"case {index}: {type(err).__name__}: {err}") from err
        if index % 20 == 19:  # a whole frame now and then, as a damaged stream has
            transcoder.transcode(index * 1024 / 48000, frames[index % len(frames)])
    assert dropped
    produced = [frame for data in frames * 4 for frame in transcoder.transcode(0.0, data)]
    assert produced, "live audio stopped after damaged packets"


def test_opus_transcoder_gives_up_on_audio_that_never_decodes() -> None:
    transcoder = OpusTranscoder("aac", 48000, 2, None, run=1)
    rng = random.Random(36)
    errors = 0
    for index in range(MAX_BAD_PACKETS + 10):
        try:
            assert transcoder.transcode(index / 50, b"\xff\xf1" + rng.randbytes(40)) == []
        except ValueError:
            errors += 1
    assert errors == MAX_BAD_PACKETS - 1  # then it stops trying, with one warning
