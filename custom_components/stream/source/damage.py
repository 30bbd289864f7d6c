"""Damaged media in a run (worker thread): a malformed packet is dropped, and each kind of damage is logged at most
once a minute, so a camera sending garbage neither ends its run nor floods the log."""

from __future__ import annotations

import logging
import time

_LOGGER = logging.getLogger(__name__)
LOG_INTERVAL = 60.0  # seconds between two log lines of the same kind


class DamageLog:
    """Counts dropped packets by kind ("live video", "fMP4 video", ...) and logs one line per kind per minute."""

    def __init__(self, logger: logging.Logger = _LOGGER) -> None:
        self._logger = logger
        self._next_log: dict[str, float] = {}
        self.dropped: dict[str, int] = {}

    def report(self, kind: str, err: Exception) -> None:
        """A packet of `kind` was dropped because of `err`."""
        count = self.dropped[kind] = self.dropped.get(kind, 0) + 1
        now = time.monotonic()
        if now < self._next_log.get(kind, 0.0):
            return
        self._next_log[kind] = now + LOG_INTERVAL
        self._logger.warning(
            "Dropped a damaged %s packet (%s: %s); %d so far, logged at most once a minute",
            kind,
            type(err).__name__,
            err,
            count,
        )
