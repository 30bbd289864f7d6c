"""Logging for a benchmark: a bare Home Assistant's start-up chatter silenced, both integrations' warnings and
errors kept for the report instead of printed."""

from __future__ import annotations

import logging
from collections.abc import Sequence

STREAM_LOGGERS = ("custom_components.stream", "homeassistant.components.stream")
FORMAT = "%(name)s %(levelname)s: %(message)s"


def setup_logging() -> None:
    """Warnings and up on stderr, without the start-up chatter of a bare Home Assistant in a sandbox."""
    logging.basicConfig(level=logging.WARNING, format=FORMAT)
    quiet_startup_logging()


def quiet_startup_logging() -> None:
    """Start-up chatter of a bare Home Assistant in a sandbox ("custom integration", "no IPv4", "no zlib_ng")."""
    for name in ("homeassistant.loader", "homeassistant.components.network", "aiohttp_fast_zlib"):
        logging.getLogger(name).setLevel(logging.ERROR)


class LogCapture(logging.Handler):
    """Keeps both integrations' warnings and errors (with tracebacks) for the report instead of printing them."""

    def __init__(self, expected: Sequence[str] = ()) -> None:
        super().__init__(logging.WARNING)
        self.expected = tuple(expected)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter(FORMAT))
        for name in STREAM_LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take_unexpected(self) -> list[str]:
        """Everything logged since the last call except messages containing one of the `expected` texts."""
        records, self.records = self.records, []
        return [
            self.format(record)
            for record in records
            if not any(expected in record.getMessage() for expected in self.expected)
        ]
