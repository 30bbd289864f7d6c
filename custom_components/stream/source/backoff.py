"""When the worker tries a failed source again.

The schedule serves two goals that pull apart: a camera that comes back must show media again within seconds, and a
camera that stays dead must not be hammered. It works in three steps:

1. **Right after a run that delivered media** (it opened and sent a keyframe: the camera was there a moment ago), the
   first retry comes after `first` (0.5 s). A flapping camera, or one whose connection dropped while it kept running,
   is back about as fast as it can answer. Every run that delivered media starts the schedule over: a successful
   open is the best evidence that the camera is back, so one flap never costs more than one short wait.
2. **During the first minute of an outage** (`fast_period`, counted from the failure that began it), attempts start
   `fast_spacing` (1 s) apart. Most outages (a camera or Wi-Fi rebooting, a network blip) are shorter than that, and
   each is over within about a second of the camera answering again. An attempt that fails at once costs little:
   a refused connection or an RTSP error reply.
3. **After that**, attempts start `slow_spacing` (10 s) apart: at most 6 a minute for a camera that stays dead, and
   media back within 10 s (plus the camera's own open time) whenever it returns.

Spacing is counted from the start of one attempt to the start of the next: an attempt that itself took long (an
unreachable host waits out its connect timeout) is followed by a shorter wait, never by less than `first`.

Errors that a retry a second later will not fix (the camera answered 400, 401, 403 or 404: a wrong password or
path) go straight to the slow spacing: some cameras lock an account out after a handful of failed logins.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..const import RETRY_FAST_PERIOD, RETRY_FAST_SPACING, RETRY_FIRST_DELAY, RETRY_SLOW_SPACING


class Backoff:
    """The wait before the next attempt, from how the last run ended and how long the outage has lasted."""

    def __init__(
        self,
        first: float = RETRY_FIRST_DELAY,
        fast_spacing: float = RETRY_FAST_SPACING,
        fast_period: float = RETRY_FAST_PERIOD,
        slow_spacing: float = RETRY_SLOW_SPACING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._first = first
        self._fast_spacing = fast_spacing
        self._fast_period = fast_period
        self._slow_spacing = slow_spacing
        self._clock = clock
        self._outage_started: float | None = None  # when the first failed run of this outage ended
        self.current = 0.0  # the last delay given (diagnostics)

    def next_delay(self, run_seconds: float, delivered: bool, lasting: bool = False) -> float:
        """The wait after a run that failed after `run_seconds`.

        `delivered`: the run sent media (the schedule starts over). `lasting`: the error will not go away by itself
        (an HTTP/RTSP client error), so the slow spacing applies from the first retry."""
        now = self._clock()
        if delivered or self._outage_started is None:
            self._outage_started = now
            if not lasting:
                self.current = self._first
                return self.current
        slow = lasting or now - self._outage_started >= self._fast_period
        spacing = self._slow_spacing if slow else self._fast_spacing
        self.current = max(self._first, spacing - run_seconds)
        return self.current

    def reset(self) -> None:
        """A new start (or a new source): the next failure is the first of an outage."""
        self._outage_started = None
        self.current = 0.0
