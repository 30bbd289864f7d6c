"""Learning unknown sources in the background: a few probes at a time, never holding up Home Assistant's start."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback

from ...exceptions import StreamWorkerError
from ...redact import redact_credentials, redact_text
from ..description import SourceInfo
from ..options import source_open_options
from .probe import probe_source
from .store import CodecMemory

_LOGGER = logging.getLogger(__name__)

MAX_CONCURRENT_PROBES = 2
RETRY_AFTER = 300.0  # seconds before a source that could not be probed is tried again
STOP_JOIN_TIMEOUT = 1.0


class CodecLearner:
    """Probes each unknown source once (again after RETRY_AFTER if that failed) and tells the memory."""

    def __init__(self, hass: HomeAssistant, memory: CodecMemory, is_streaming: Callable[[str], bool]) -> None:
        self._hass = hass
        self._memory = memory
        self._is_streaming = is_streaming  # a running worker reports the codecs itself: no second connection
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_PROBES)
        self._pending: set[str] = set()
        self._failed_at: dict[str, float] = {}
        self._threads: set[threading.Thread] = set()
        self._stop = threading.Event()

    @property
    def learning(self) -> frozenset[str]:
        """The sources being probed now or waiting for a slot."""
        return frozenset(self._pending)

    @callback
    def learn(self, source: str) -> None:
        """Find out in the background what `source` carries, unless that is under way or failed a moment ago."""
        failed_at = self._failed_at.get(source)
        if source in self._pending or self._stop.is_set():
            return
        if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER:
            return
        self._pending.add(source)
        self._hass.async_create_background_task(self._learn(source), "stream: learn a camera's codecs")

    async def _learn(self, source: str) -> None:
        try:
            async with self._slots:
                known = self._memory.get(source)
                if (known is not None and known.ready) or self._is_streaming(source) or self._stop.is_set():
                    return
                info = await self._probe(source)
        except StreamWorkerError as err:
            _LOGGER.debug("Could not learn the codecs of %s: %s", redact_credentials(source), err)
            self._failed_at[source] = time.monotonic()
        else:
            if info.ready:
                _LOGGER.debug("Learned the codecs of %s: %s", redact_credentials(source), info.video.codec)
                self._memory.remember(source, info)
            else:
                self._failed_at[source] = time.monotonic()
        finally:
            self._pending.discard(source)

    async def _probe(self, source: str) -> SourceInfo:
        """The probe runs on a thread of its own (a blocked open must not hold an executor thread at shutdown)."""
        loop = asyncio.get_running_loop()
        result: asyncio.Future[SourceInfo] = loop.create_future()

        def deliver(outcome: SourceInfo | BaseException) -> None:
            if result.done():
                return
            if isinstance(outcome, BaseException):
                result.set_exception(outcome)
            else:
                result.set_result(outcome)

        def run() -> None:
            outcome: SourceInfo | BaseException
            try:
                outcome = probe_source(source, source_open_options(source, {}), self._stop)
            except StreamWorkerError as err:
                outcome = err
            except Exception as err:
                outcome = StreamWorkerError(redact_text(f"Unexpected error: {err}", source))
            finally:
                self._threads.discard(threading.current_thread())
            with contextlib.suppress(RuntimeError):  # the event loop is closed: Home Assistant is gone
                loop.call_soon_threadsafe(deliver, outcome)

        thread = threading.Thread(target=run, name="stream_probe", daemon=True)
        self._threads.add(thread)
        thread.start()
        return await result

    async def async_shutdown(self) -> None:
        """Stop the probes under way (each ends at its next packet, or when its open times out)."""
        self._stop.set()
        for thread in list(self._threads):
            await self._hass.async_add_executor_job(thread.join, STOP_JOIN_TIMEOUT)
