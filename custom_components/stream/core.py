"""`Stream`: one camera source, its worker thread, its media buffer and its outputs (the built-in's public API)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_send

from .const import (
    ATTR_ENDPOINTS,
    DATA_WEBRTC,
    DOMAIN,
    HLS_PROVIDER,
    MAX_SEGMENTS,
    OUTPUT_IDLE_TIMEOUT,
    OUTPUT_STARTUP_TIMEOUT,
    RECORDER_PROVIDER,
    SIGNAL_LIVE_SOURCE,
    WEBRTC_PROVIDER,
)
from .diagnostics_data import Diagnostics
from .exceptions import StreamClientError, StreamWorkerError
from .issues import LOSS_WINDOW, CameraIssues
from .outputs.live import LiveFeed, LiveViewer
from .outputs.output import IdleTimer, StreamOutput
from .outputs.snapshot.converter import KeyframeConverter
from .redact import redact_credentials, redact_text
from .remux.media import MediaBuffer, Part, SegmentHeader
from .remux.segmenter import StreamTimeline
from .settings import StreamSettings
from .source.backoff import Backoff
from .source.damage import DamageLog
from .source.description import SourceInfo
from .source.options import source_open_options
from .source.rtp_loss import RTP_LOSS
from .source.run import WorkerRun, WorkerStats
from .source.worker import run_worker

if TYPE_CHECKING:
    from homeassistant.components.camera.prefs import DynamicStreamSettings

_LOGGER = logging.getLogger(__package__)

# Errors the camera answered that retrying soon will not fix (wrong password or path): retried slowly.
_LASTING_ERRORS = frozenset(
    {
        StreamClientError.BadRequest,
        StreamClientError.Unauthorized,
        StreamClientError.Forbidden,
        StreamClientError.NotFound,
    }
)


@dataclass(frozen=True, slots=True)
class _Failure:
    """How a run ended: the (redacted) error, how long it ran, whether it sent media, whether retrying soon helps,
    and the cause a user can fix (a SourceProblem value) when known."""

    error: str
    run_seconds: float
    delivered: bool
    lasting: bool
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class _RunEnd:
    """What ended a run: its error (None: it ended or was told to quit), the client error code and the cause."""

    error: str | None = None
    code: StreamClientError | None = None
    problem: str | None = None


# How long stop() waits for the worker thread; a source blocked in a read is abandoned and exits on its own.
STOP_JOIN_TIMEOUT = 1.0


def checked_source(source: object) -> str:
    """`source` if it is a URL or path; anything else (the file-like objects PyAV could read) fails here, with the
    problem named, rather than later in the worker or at shutdown."""
    if not isinstance(source, str):
        raise HomeAssistantError(f"A stream source must be a URL or a file path (str), not {type(source).__name__}")
    return source


class Stream:
    """A camera stream shared by every output (HLS, recorder, snapshots)."""

    def __init__(
        self,
        hass: HomeAssistant,
        source: str,
        pyav_options: dict[str, str],
        stream_settings: StreamSettings,
        dynamic_stream_settings: DynamicStreamSettings,
        stream_label: str | None = None,
    ) -> None:
        self.hass = hass
        self.source = checked_source(source)
        self.pyav_options = pyav_options
        self.dynamic_stream_settings = dynamic_stream_settings
        self.access_token: str | None = None
        self._stream_settings = stream_settings
        self._stream_label = stream_label
        self._logger = logging.getLogger(f"{__package__}.stream.{stream_label}") if stream_label else _LOGGER
        self._outputs: dict[str, StreamOutput] = {}
        self._buffer = MediaBuffer(MAX_SEGMENTS)
        self._timeline = StreamTimeline()
        self._stats = WorkerStats()
        self._damage = DamageLog(self._logger)
        self._diagnostics = Diagnostics()
        self._backoff = Backoff()
        self._keyframe_converter = KeyframeConverter(hass)
        self._issues = CameraIssues(hass, stream_label, self.source)
        self._loss_check: asyncio.TimerHandle | None = None
        self.live = LiveFeed(self._call_soon)
        self.live.add_source_listener(self._on_live_source)
        self._thread: threading.Thread | None = None
        self._thread_quit = threading.Event()
        self._run_quit = threading.Event()  # ends the current run only (update_source restarts at once)
        self._available = True
        self._update_callback: Callable[[], None] | None = None
        self._last_error: str | None = None

    # -- outputs ------------------------------------------------------------------------------------------------

    def endpoint_url(self, fmt: str) -> str:
        """The relative URL of `fmt` for this stream; creates the access token on first use."""
        if fmt not in self._outputs:
            raise ValueError(f"Stream is not configured for format '{fmt}'")
        if not self.access_token:
            self.access_token = secrets.token_hex()
        endpoint: str = self.hass.data[DOMAIN][ATTR_ENDPOINTS][fmt]
        return endpoint.format(self.access_token)

    def outputs(self) -> Mapping[str, StreamOutput]:
        return MappingProxyType(self._outputs.copy())

    @callback
    def add_provider(self, fmt: str, timeout: int | None = None) -> StreamOutput:
        """The output for `fmt`, created (with its idle timer running) if needed."""
        if (output := self._outputs.get(fmt)) is not None:
            return output

        @callback
        def idle_callback() -> None:
            output = self._outputs.get(fmt)
            if output is not None and (fmt == RECORDER_PROVIDER or not self.dynamic_stream_settings.preload_stream):
                self.hass.async_create_task(self.remove_provider(output), eager_start=True)
            self.check_idle()

        timer = IdleTimer(
            self.hass,
            timeout or OUTPUT_IDLE_TIMEOUT,
            idle_callback,
            startup_timeout=timeout or OUTPUT_STARTUP_TIMEOUT,
        )
        output = StreamOutput(fmt, timer, self._buffer, self._stream_settings, self.dynamic_stream_settings)
        self._outputs[fmt] = output
        timer.start()
        return output

    async def remove_provider(self, provider: StreamOutput) -> None:
        """Drop an output; the stream stops when none is left."""
        if self._outputs.get(provider.name) is provider:
            provider.cleanup()
            del self._outputs[provider.name]
        if not self._outputs:
            await self.stop()

    @callback
    def add_live_viewer(self) -> LiveViewer:
        """A live (WebRTC) viewer: keeps the stream up until it is removed; call `start()` to make sure it runs."""
        output = self.add_provider(WEBRTC_PROVIDER)
        output.idle_timer.hold()
        output.set_viewer_counter(lambda: self.live.viewer_count)
        return self.live.add_viewer()

    @callback
    def remove_live_viewer(self, viewer: LiveViewer) -> None:
        """The viewer left; with no viewer left the live output idles out like any other."""
        self.live.remove_viewer(viewer)
        if not self.live.viewer_count and (output := self._outputs.get(WEBRTC_PROVIDER)) is not None:
            output.awake()

    @callback
    def _on_live_source(self, source: SourceInfo) -> None:
        """Tell the WebRTC provider what the camera sends (it stops offering WebRTC for what it cannot carry), and the
        user when that is something many browsers cannot play (a repair issue)."""
        async_dispatcher_send(self.hass, SIGNAL_LIVE_SOURCE, self, source)
        self._issues.source_seen(source, webrtc=self.hass.data.get(DOMAIN, {}).get(DATA_WEBRTC) is not None)

    def check_idle(self) -> None:
        """Forget the access token once every output is idle (its URLs stop working)."""
        if all(output.idle for output in self._outputs.values()):
            self.access_token = None

    @property
    def buffer(self) -> MediaBuffer:
        return self._buffer

    @property
    def stream_settings(self) -> StreamSettings:
        return self._stream_settings

    @property
    def logger(self) -> logging.Logger:
        """This stream's logger (named after its label, e.g. the camera's entity id)."""
        return self._logger

    @property
    def label(self) -> str | None:
        """What the creator named the stream (camera: its entity id)."""
        return self._stream_label

    # -- availability -------------------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self._available

    def set_update_callback(self, update_callback: Callable[[], None]) -> None:
        """Called (on the event loop) whenever availability changes; camera passes async_write_ha_state."""
        self._update_callback = update_callback

    @callback
    def _set_available(self, available: bool) -> None:
        if not available:
            # Live viewers cannot wait out the back-off: they end and the frontend falls back or retries.
            self.live.close(redact_credentials(self._last_error or "Stream unavailable"))
        if available != self._available:
            self._available = available
            if self._update_callback is not None:
                self._update_callback()

    # -- worker lifecycle ---------------------------------------------------------------------------------------

    @property
    def worker_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._thread_quit.is_set()

    async def start(self) -> None:
        """Start the worker thread unless it is running."""
        if self.worker_running:
            return
        self._thread_quit = threading.Event()
        self._run_quit = threading.Event()
        self._buffer.reopen()
        self._backoff.reset()
        self._thread = threading.Thread(
            name="stream_worker", target=self._supervise, args=(self._thread_quit,), daemon=True
        )
        self._thread.start()
        if self._loss_check is None:
            self._loss_check = self.hass.loop.call_later(LOSS_WINDOW, self._check_packet_loss)
        self._logger.debug("Started stream: %s", redact_credentials(self.source))

    @callback
    def _check_packet_loss(self) -> None:
        """Every LOSS_WINDOW while the worker runs: the RTP packets it lost (RTSP over UDP) go to the repair issues."""
        self._loss_check = None
        thread = self._thread
        if thread is None or thread.ident is None or not self.worker_running:
            return
        self._issues.packets_lost(RTP_LOSS.take(thread.ident), streaming=self._available)
        self._loss_check = self.hass.loop.call_later(LOSS_WINDOW, self._check_packet_loss)

    def update_source(self, new_source: str) -> None:
        """Switch to `new_source` and restart the worker at once."""
        self._diagnostics.increment("update_source")
        self.source = checked_source(new_source)
        self._issues.set_source(self.source)
        self._logger.debug("Updating stream source %s", redact_credentials(new_source))
        self._backoff.reset()
        self._run_quit.set()

    async def stop(self) -> None:
        """Drop every output and the token; stop the worker unless the camera preloads its stream."""
        self._drop_outputs()
        if not self.dynamic_stream_settings.preload_stream:
            await self._stop_worker()

    async def shutdown(self) -> None:
        """Home Assistant is stopping: everything goes, preload or not."""
        self._drop_outputs()
        await self._stop_worker()

    def _drop_outputs(self) -> None:
        for output in self._outputs.values():
            output.cleanup()
        self._outputs = {}
        self.access_token = None
        self.live.close()

    async def _stop_worker(self) -> None:
        thread = self._thread
        if self._loss_check is not None:
            self._loss_check.cancel()
            self._loss_check = None
        self._thread_quit.set()
        self._run_quit.set()
        self._buffer.close()
        if thread is not None and thread.is_alive():
            await self.hass.async_add_executor_job(thread.join, STOP_JOIN_TIMEOUT)
            if thread.is_alive():
                self._logger.debug("Worker still blocked in the source; it exits when the read times out")
        self.live.forget_keyframe()  # after the join: the keyframes the worker queued on the loop came first
        self._issues.stream_stopped()
        self._thread = None
        if not self._outputs:
            # Nothing reads the media any more: the segments and the snapshots' keyframe go (the last JPEG stays,
            # as in the built-in); a restart buffers afresh. A preloaded stream never gets here while it runs.
            self._buffer.release()
            self._keyframe_converter.release()
        self._logger.debug("Stopped stream: %s", redact_credentials(self.source))

    def _supervise(self, thread_quit: threading.Event) -> None:
        """The worker thread: run the source, retry failures with back-off, until told to quit."""
        loss_watch = RTP_LOSS.watch()  # FFmpeg reports lost RTP packets on this thread
        try:
            self._run_until_quit(thread_quit)
        finally:
            RTP_LOSS.unwatch(loss_watch)

    def _run_until_quit(self, thread_quit: threading.Event) -> None:
        while not thread_quit.is_set():
            run_quit = self._run_quit = threading.Event()
            if thread_quit.is_set():
                break
            started = time.monotonic()
            source = self.source  # update_source may change it while this run goes on
            delivered = threading.Event()  # set when this run sends its first media
            end = self._run_once(source, run_quit, delivered)
            self._call_soon(self._buffer.end_segment)
            if thread_quit.is_set():
                break
            if run_quit.is_set() and end.error is None:
                continue  # update_source: restart now
            # FFmpeg's messages may quote the source: no credential reaches the log or the diagnostics.
            failure = _Failure(
                redact_text(end.error or "Stream ended", source),
                time.monotonic() - started,
                delivered.is_set(),
                end.code in _LASTING_ERRORS,
                end.problem,
            )
            self._on_failure(failure, thread_quit)

    def _run_once(self, source: str, run_quit: threading.Event, delivered: threading.Event) -> _RunEnd:
        """One run of `source`, and what ended it."""
        self._diagnostics.increment("start_worker")
        run = WorkerRun(
            source=source,
            open_options=source_open_options(source, self.pyav_options),
            settings=self._stream_settings,
            timeline=self._timeline,
            sink=self._part_sink(run_quit),
            on_discontinuity=lambda: self._call_soon(self._buffer.end_segment),
            on_started=lambda: self._on_media_flowing(delivered),
            on_keyframe=self._keyframe_converter.on_keyframe,
            quit=run_quit,
            stats=self._stats,
            live=self.live,
            damage=self._damage,
        )
        try:
            run_worker(run)
        except StreamWorkerError as err:
            return _RunEnd(str(err), err.error_code, err.problem)
        except Exception as err:
            self._logger.exception("Unexpected error in stream worker")
            return _RunEnd(f"Unexpected error: {err}")
        return _RunEnd()

    def _on_failure(self, failure: _Failure, thread_quit: threading.Event) -> None:
        """Mark unavailable, log once per distinct failure, wait out the back-off (or a source update)."""
        error = failure.error
        self._diagnostics.increment("worker_error")
        self._diagnostics.set_value("last_error", error)
        delay = self._backoff.next_delay(failure.run_seconds, failure.delivered, failure.lasting)
        self._diagnostics.set_value("retry_timeout", delay)
        if error != self._last_error:
            self._logger.error("Error from stream worker: %s (retrying in %.1f s)", error, delay)
            self._last_error = error
        else:
            self._logger.debug("Stream worker failed again: %s; retrying in %.1f s", error, delay)
        self._call_soon(self._buffer.source_down)  # waiting HLS requests answer now, not at their deadline
        self._call_soon(self._issues.run_failed, failure.problem)  # a camera that keeps failing: a repair issue
        self._call_soon(self._set_available, False)  # after the log line: watchers see the reason first
        run_quit = self._run_quit
        deadline = time.monotonic() + delay
        while not (thread_quit.is_set() or run_quit.is_set()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            run_quit.wait(min(remaining, 0.25))

    def _on_media_flowing(self, delivered: threading.Event) -> None:
        delivered.set()
        self._call_soon(self._issues.run_delivered)
        if self._last_error is not None:
            self._logger.info("Stream recovered: %s", redact_credentials(self.source))
            self._last_error = None
        self._call_soon(self._set_available, True)

    def _part_sink(self, run_quit: threading.Event) -> Callable[[SegmentHeader, Part, bool], None]:
        """Hands parts to the event loop; a run that was told to quit publishes nothing more."""

        def sink(header: SegmentHeader, part: Part, last_in_segment: bool) -> None:
            if not run_quit.is_set():
                self._call_soon(self._buffer.add_part, header, part, last_in_segment)

        return sink

    def _call_soon(self, func: Callable[..., None], *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop is closed: Home Assistant is gone
            self.hass.loop.call_soon_threadsafe(func, *args)

    # -- recorder and snapshots ---------------------------------------------------------------------------------

    async def async_record(self, video_path: str, duration: int = 30, lookback: int = 5) -> None:
        """Record `duration` seconds (plus up to `lookback` seconds already buffered) to `video_path` as MP4."""
        from .outputs.recorder.record import async_record_stream

        await async_record_stream(self, video_path, duration, lookback)

    async def async_get_image(
        self, width: int | None = None, height: int | None = None, wait_for_next_keyframe: bool = False
    ) -> bytes | None:
        """A JPEG of the latest keyframe (starting the stream if needed); None until one is available."""
        self.add_provider(HLS_PROVIDER)
        await self.start()
        return await self._keyframe_converter.async_get_image(
            width=width,
            height=height,
            wait_for_next_keyframe=wait_for_next_keyframe,
            orientation=int(self.dynamic_stream_settings.orientation),
        )

    # -- diagnostics --------------------------------------------------------------------------------------------

    def get_diagnostics(self) -> dict[str, Any]:
        """What this stream is doing, with no secrets (no credential of the source, no access token)."""
        stats = self._stats
        rates = stats.rates.read()
        data = self._diagnostics.as_dict()
        if (last_error := data.get("last_error")) is not None:
            data["last_error"] = redact_text(last_error, self.source)  # already redacted; the source may be new
        data.update(
            source=redact_credentials(self.source),
            available=self._available,
            keepalive=self.dynamic_stream_settings.preload_stream,
            orientation=int(self.dynamic_stream_settings.orientation),
            container_format=stats.container_format,
            video_codec=stats.video_codec,
            audio_codec=stats.audio_codec,
            resolution=f"{stats.width}x{stats.height}" if stats.width else None,
            fps=rates.fps,
            bitrate=rates.bitrate,
            keyframe_interval=rates.keyframe_interval,
            outputs={name: {"idle": out.idle, "viewers": out.viewers} for name, out in sorted(self._outputs.items())},
            segments=len(self._buffer.segments),
            buffered_bytes=self._buffer.memory_size(),
            live=self.live.diagnostics(),
        )
        return data
