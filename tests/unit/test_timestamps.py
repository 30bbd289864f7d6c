"""Timestamp validation: drops, discontinuities and the missing-dts limit."""

from __future__ import annotations

import pytest

from custom_components.stream.exceptions import StreamWorkerError
from custom_components.stream.source.timestamps import TimestampValidator, Verdict


def test_increasing_dts_accepted() -> None:
    validator = TimestampValidator(90000)
    assert [validator.check(dts) for dts in (0, 3000, 6000)] == [Verdict.ACCEPT] * 3


def test_non_increasing_dts_dropped() -> None:
    validator = TimestampValidator(90000)
    assert validator.check(3000) is Verdict.ACCEPT
    assert validator.check(3000) is Verdict.DROP
    assert validator.check(2000) is Verdict.DROP
    assert validator.check(6000) is Verdict.ACCEPT


def test_large_forward_jump_is_discontinuity() -> None:
    validator = TimestampValidator(90000)
    validator.check(0)
    assert validator.check(31 * 90000) is Verdict.DISCONTINUITY
    assert validator.check(31 * 90000 + 3000) is Verdict.ACCEPT


def test_clock_reset_backwards_is_discontinuity() -> None:
    validator = TimestampValidator(90000)
    validator.check(10 * 90000)
    assert validator.check(0) is Verdict.DISCONTINUITY
    assert validator.check(3000) is Verdict.ACCEPT


def test_missing_dts_dropped_then_fails() -> None:
    validator = TimestampValidator(90000)
    for _ in range(6):
        assert validator.check(None) is Verdict.DROP
    with pytest.raises(StreamWorkerError, match="No dts in 7 consecutive packets"):
        validator.check(None)


def test_missing_count_resets_on_valid_dts() -> None:
    validator = TimestampValidator(90000)
    for _ in range(6):
        validator.check(None)
    validator.check(0)
    for _ in range(6):
        assert validator.check(None) is Verdict.DROP
