"""The error a WebRTC session or offer ends with: its code and message reach the frontend as a `WebRTCError`."""

from __future__ import annotations


class SessionError(Exception):
    """A session cannot go on (or start); `code` and the message go to the frontend as a WebRTCError."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
