"""RTP packets lost between an RTSP camera and the worker (RTSP over UDP), counted from FFmpeg's own reports.

FFmpeg's RTP demuxer logs "RTP: missed N packets" (a warning) on the thread reading the camera when sequence numbers
skip, which only happens over UDP: RTSP over TCP never loses a packet. `ffmpeg_log` hands every FFmpeg message to
`RTP_LOSS.report`, on the thread that logged it; a stream's worker thread registers itself (`watch`) and the event loop
takes its count now and then (`take`).
"""

from __future__ import annotations

import re
import threading

# PyAV folds identical messages in a row into one "... (repeated N more times)" record: N more reports.
_MISSED = re.compile(r"RTP: missed (\d+) packets(?: \(repeated (\d+) more times\))?")


class RtpLossCounter:
    """Missed packets per watched thread (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._missed: dict[int, int] = {}

    def watch(self) -> int:
        """Count for the calling thread from now on; returns its id for `take` and `unwatch`."""
        ident = threading.get_ident()
        with self._lock:
            self._missed[ident] = 0
        return ident

    def unwatch(self, ident: int) -> None:
        with self._lock:
            self._missed.pop(ident, None)

    def report(self, message: str) -> None:
        """One FFmpeg message, on the thread that logged it."""
        if "RTP: missed" not in message or (match := _MISSED.search(message)) is None:
            return
        ident = threading.get_ident()
        with self._lock:
            if ident in self._missed:
                self._missed[ident] += int(match[1]) * int(match[2] or 1)

    def take(self, ident: int) -> int:
        """Packets the thread missed since the last take."""
        with self._lock:
            missed = self._missed.get(ident, 0)
            if ident in self._missed:
                self._missed[ident] = 0
        return missed


RTP_LOSS = RtpLossCounter()
