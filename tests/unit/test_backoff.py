"""The retry schedule (source/backoff.py), run against a simulated clock: a dead camera, a camera coming back after
outages from 1 s to 10 minutes, a flapping camera, errors that retrying soon does not fix."""

from __future__ import annotations

import itertools

from custom_components.stream.source.backoff import Backoff

FIRST, FAST, FAST_PERIOD, SLOW = 0.5, 1.0, 60.0, 10.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make() -> tuple[Backoff, Clock]:
    clock = Clock()
    return Backoff(first=FIRST, fast_spacing=FAST, fast_period=FAST_PERIOD, slow_spacing=SLOW, clock=clock), clock


def attempts_while_dead(seconds: float, attempt_cost: float, lasting: bool = False) -> list[float]:
    """Start times of the attempts against a camera that died at 0 (its last run delivered media) and stays dead
    for `seconds`; each failed attempt takes `attempt_cost` seconds."""
    backoff, clock = make()
    clock.now = 0.0
    clock.now += backoff.next_delay(run_seconds=3600, delivered=True, lasting=lasting)
    starts = []
    while clock.now < seconds:
        starts.append(clock.now)
        clock.now += attempt_cost
        clock.now += backoff.next_delay(run_seconds=attempt_cost, delivered=False, lasting=lasting)
    return starts


def test_first_retry_after_a_run_that_delivered_media_is_short() -> None:
    backoff, _ = make()
    assert backoff.next_delay(run_seconds=0.3, delivered=True) == FIRST
    assert backoff.current == FIRST


def test_a_dead_camera_is_tried_every_second_for_a_minute_then_every_ten_seconds() -> None:
    for attempt_cost in (0.001, 0.3, 5.0):  # refused at once, an RTSP error reply, a connect timeout
        starts = attempts_while_dead(600, attempt_cost)
        first_minute = [start for start in starts if start < 60]
        assert len(first_minute) <= 61
        for minute in range(1, 9):  # any window of a minute after the first: at most 6 attempts
            window = [start for start in starts if 60 + minute * 60 - 30 <= start < 60 + minute * 60 + 30]
            assert len(window) <= 6, (attempt_cost, minute, window)
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert min(gaps) >= min(FAST, attempt_cost + FIRST) - 1e-9


def test_the_camera_coming_back_is_tried_within_a_second_early_and_ten_seconds_late() -> None:
    """The wait from the camera answering again to the next attempt, for outages from 1 s to 10 minutes."""
    starts = attempts_while_dead(700, attempt_cost=0.01)
    waits = {}
    for outage in [1, 2, 5, 10, 30, 59, 61, 90, 120, 300, 599, 600]:
        for offset in (0.0, 0.37, 0.99, 4.2, 9.5):
            back = outage + offset
            waits[back] = next(start for start in starts if start >= back) - back
    early = [wait for back, wait in waits.items() if back < FAST_PERIOD]
    assert max(early) <= FAST
    assert max(waits.values()) <= SLOW
    print(f"wait from the camera's return to the next attempt: max {max(waits.values()):.2f} s")


def test_every_run_that_delivered_media_starts_over() -> None:
    """A flapping camera (up for a moment, then down) is retried after the first delay every time."""
    backoff, clock = make()
    for _ in range(100):
        clock.now += 2.0  # up for 2 s
        assert backoff.next_delay(run_seconds=2.0, delivered=True) == FIRST
        clock.now += FIRST
    clock.now += 120  # a long outage after all those flaps: the schedule counts from its own start
    assert backoff.next_delay(run_seconds=0.01, delivered=False) == SLOW - 0.01


def test_a_long_failing_attempt_is_followed_by_a_shorter_wait() -> None:
    backoff, clock = make()
    backoff.next_delay(run_seconds=10, delivered=True)
    clock.now = 120
    assert backoff.next_delay(run_seconds=7.0, delivered=False) == SLOW - 7.0
    assert backoff.next_delay(run_seconds=30.0, delivered=False) == FIRST  # never less than the first delay


def test_errors_retrying_will_not_fix_are_retried_slowly_from_the_start() -> None:
    """401/403/404/400: some cameras lock an account after a few failed logins."""
    starts = attempts_while_dead(300, attempt_cost=0.01, lasting=True)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= SLOW - 1e-9
    backoff, _ = make()
    assert backoff.next_delay(run_seconds=0.05, delivered=False, lasting=True) == SLOW - 0.05


def test_reset_starts_a_new_outage() -> None:
    backoff, clock = make()
    backoff.next_delay(run_seconds=0.01, delivered=False)
    clock.now = 300
    assert backoff.next_delay(run_seconds=0.01, delivered=False) == SLOW - 0.01
    backoff.reset()
    assert backoff.current == 0
    assert backoff.next_delay(run_seconds=0.01, delivered=False) == FIRST
