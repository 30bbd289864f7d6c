"""Errors raised by the stream integration (same names and codes as the built-in)."""

from __future__ import annotations

from enum import IntEnum

from homeassistant.exceptions import HomeAssistantError


class StreamClientError(IntEnum):
    """What went wrong when a client (the source) was opened; HTTP-like codes."""

    BadRequest = 400
    Unauthorized = 401
    Forbidden = 403
    NotFound = 404
    Other = 4


class StreamOpenClientError(HomeAssistantError):
    """Opening the source failed; `error_code` tells why."""

    def __init__(self, message: str, error_code: StreamClientError) -> None:
        super().__init__(message)
        self.error_code = error_code


class StreamWorkerError(Exception):
    """The worker could not read or remux the source. `problem`: what the user can fix, when it is known (a
    `source.problems.SourceProblem` value: the issue's translation key)."""

    def __init__(
        self, message: str, error_code: StreamClientError = StreamClientError.Other, problem: str | None = None
    ) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.problem = problem


class StreamEndedError(StreamWorkerError):
    """The source ended (no more packets)."""
