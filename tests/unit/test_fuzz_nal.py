"""Fuzz: NAL unit framing on random bytes and damaged real samples; only ValueError (a sample to drop) comes out."""

from __future__ import annotations

import random

import pytest

from custom_components.stream.remux.fmp4.nal import (
    annexb_to_length_prefixed,
    join_length_prefixed,
    length_prefix_in_place,
    split_annexb,
    split_length_prefixed,
    split_nal_units,
    unescape_rbsp,
)

from .fuzz_support import RealStream, cases, only_value_errors

CASES = 3000


def _samples(streams: list[RealStream]) -> list[bytes]:
    return [data for stream in streams for data in stream.video_packets]


@pytest.mark.parametrize("length_size", [1, 2, 3, 4])
def test_split_length_prefixed(real_samples: list[RealStream], length_size: int) -> None:
    samples = _samples(real_samples)
    raised = only_value_errors(lambda data: split_length_prefixed(data, length_size), length_size, CASES, samples)
    assert 0 < raised < CASES  # damaged lengths are refused, and some inputs still split


def test_split_length_prefixed_gives_units_of_the_sample(real_samples: list[RealStream]) -> None:
    """What it accepts splits into non-empty units found in the sample (zero lengths are skipped); whole samples
    split and join back to themselves."""
    samples = _samples(real_samples)
    for index, data in cases(11, CASES, samples):
        try:
            units = split_length_prefixed(data)
        except ValueError:
            continue
        assert all(units), index
        assert all(unit in data for unit in units), index
        assert len(join_length_prefixed(units)) <= len(data), index
    for stream in real_samples:
        if stream.name.endswith("mp4"):
            for data in stream.video_packets:
                assert join_length_prefixed(split_length_prefixed(data)) == data


def test_split_annexb_never_raises(real_samples: list[RealStream]) -> None:
    for index, data in cases(12, CASES, _samples(real_samples)):
        units = split_annexb(data)
        assert all(units), index
        assert all(b"\x00\x00\x01" not in unit for unit in units), index


def test_split_nal_units(real_samples: list[RealStream]) -> None:
    only_value_errors(split_nal_units, 13, CASES, _samples(real_samples))


def test_length_prefix_in_place_agrees_with_the_slow_path(real_samples: list[RealStream]) -> None:
    """The in-place rewrite either gives the slow path's result or says it can't; it never raises."""
    for index, data in cases(14, CASES, _samples(real_samples)):
        buffer = bytearray(data)
        if length_prefix_in_place(buffer):
            assert bytes(buffer) == annexb_to_length_prefixed(data), index


def test_unescape_rbsp_never_raises() -> None:
    rng = random.Random(15)
    for _ in range(CASES):
        data = rng.randbytes(rng.randrange(64)).replace(b"\x04", b"\x00")
        assert len(unescape_rbsp(data)) <= len(data)
