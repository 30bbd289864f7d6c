"""How long the worker waits before retrying a failed source."""

from __future__ import annotations

from ..const import RETRY_FIRST_DELAY, RETRY_HEALTHY_RUN, RETRY_MAX_DELAY


class Backoff:
    """Exponential delays (first, 2×first, … capped), back to the first after a run that was healthy long enough."""

    def __init__(
        self,
        first: float = RETRY_FIRST_DELAY,
        cap: float = RETRY_MAX_DELAY,
        healthy_run: float = RETRY_HEALTHY_RUN,
    ) -> None:
        self._first = first
        self._cap = cap
        self._healthy_run = healthy_run
        self._failures = 0
        self.current = 0.0

    def next_delay(self, run_seconds: float) -> float:
        """The wait after a run that lasted `run_seconds` before failing."""
        if run_seconds >= self._healthy_run:
            self._failures = 0
        self.current = min(self._cap, self._first * 2**self._failures)
        self._failures += 1
        return self.current

    def reset(self) -> None:
        self._failures = 0
        self.current = 0.0
