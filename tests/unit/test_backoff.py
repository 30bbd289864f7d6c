"""Retry delays: exponential, capped at 60 s, reset after a healthy run."""

from __future__ import annotations

from custom_components.stream.source.backoff import Backoff


def test_doubles_up_to_cap() -> None:
    backoff = Backoff(first=1, cap=60, healthy_run=60)
    assert [backoff.next_delay(0) for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_healthy_run_resets() -> None:
    backoff = Backoff(first=1, cap=60, healthy_run=60)
    for _ in range(5):
        backoff.next_delay(1)
    assert backoff.next_delay(61) == 1
    assert backoff.next_delay(1) == 2


def test_reset() -> None:
    backoff = Backoff(first=1, cap=60, healthy_run=60)
    backoff.next_delay(0)
    backoff.next_delay(0)
    backoff.reset()
    assert backoff.next_delay(0) == 1
