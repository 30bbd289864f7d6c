"""Base for test helpers that run a server as a child process with nothing worth flushing (Chromium, coturn)."""

from __future__ import annotations

import subprocess
from typing import Self


class KilledOnStop:
    """Owns `_process`; `stop()`, also on leaving `with`, SIGKILLs and reaps it. A graceful exit would only cost
    time: Chromium can take seconds, coturn ~4 s to join its threads, and neither has anything to save."""

    _process: subprocess.Popen[bytes] | None = None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
