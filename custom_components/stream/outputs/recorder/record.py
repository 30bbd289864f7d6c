"""`Stream.async_record`: saves what a stream shows to an MP4 file, starting up to `lookback` seconds back.

The recording hands the buffered parts to the file, which starts at the keyframe at or before `lookback` seconds
before the call, then listens to the stream's buffer and hands over every new part until the file reaches
`duration` seconds after the call (see `RecordingFile`). Parts are written as they come, in the executor; the
recorder provider keeps the stream running meanwhile.

Worker restarts: the stream's timeline runs on across restarts, so the fragments' decode times keep increasing and
the recording simply carries on. When a restart changes the stream's format (a different init segment: resolution,
codec parameters, audio track), the recording ends there with what it has: an MP4 track cannot switch its decoder
configuration midway, and ending keeps every player able to play the file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from weakref import WeakKeyDictionary

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from ...const import DOMAIN, RECORDER_PROVIDER
from ...remux.media import MediaBuffer, Part, Segment
from .file import RecordingFile

if TYPE_CHECKING:
    from homeassistant.components.camera.prefs import DynamicStreamSettings

    from ..output import StreamOutput


class RecordableStream(Protocol):
    """What a recording needs of a stream (`core.Stream`), so that the recorder does not import it."""

    hass: HomeAssistant
    dynamic_stream_settings: DynamicStreamSettings

    @property
    def buffer(self) -> MediaBuffer: ...

    @property
    def logger(self) -> logging.Logger: ...

    def outputs(self) -> Mapping[str, StreamOutput]: ...

    def add_provider(self, fmt: str, timeout: int | None = None) -> StreamOutput: ...

    async def remove_provider(self, provider: StreamOutput) -> None: ...

    async def start(self) -> None: ...


# Seconds without new media after which a recording ends with what it has (a worker restart takes far less).
RECORDER_STALL_TIMEOUT = 20
# The recorder provider's idle timer only backs up our own stall timeout (it is re-armed on every part).
_PROVIDER_TIMEOUT = RECORDER_STALL_TIMEOUT + 10

# The destination of each stream's recording in progress, for the "already recording" error.
_recording_paths: WeakKeyDictionary[RecordableStream, str] = WeakKeyDictionary()


async def async_record_stream(stream: RecordableStream, video_path: str, duration: float, lookback: float) -> None:
    """Record `duration` seconds of `stream` (plus up to `lookback` buffered seconds) to `video_path`; returns when
    the file is written. Raises ServiceValidationError (translated, see strings.json "exceptions") for a destination
    or duration that cannot work or a stream already recording, HomeAssistantError when the file can't be written."""
    hass = stream.hass
    await hass.async_add_executor_job(_check_destination, hass, video_path)
    if duration <= 0:
        raise _refusal("duration_not_positive", filename=video_path, duration=str(duration))
    # No await between this check and the registration, so two calls can't both pass it.
    if stream in _recording_paths or RECORDER_PROVIDER in stream.outputs():
        raise _refusal("already_recording", filename=_recording_paths.get(stream, "another file"))
    _recording_paths[stream] = video_path
    output = stream.add_provider(RECORDER_PROVIDER, timeout=_PROVIDER_TIMEOUT)
    try:
        await stream.start()
        stream.logger.debug("Started a stream recording of %s seconds to %s", duration, video_path)
        await _Recording(stream, output, video_path, duration, max(0.0, lookback)).run()
    finally:
        _recording_paths.pop(stream, None)
        await stream.remove_provider(output)


def _check_destination(hass: HomeAssistant, video_path: str) -> None:
    """Refuse paths Home Assistant may not write and directories that don't exist (executor: touches the disk)."""
    if not hass.config.is_allowed_path(video_path):
        raise _refusal("path_not_allowed", filename=video_path)
    path = Path(video_path)
    if not path.parent.is_dir():
        raise _refusal("directory_missing", filename=video_path, directory=str(path.parent))
    if path.is_dir():
        raise _refusal("path_is_directory", filename=video_path)


def _refusal(key: str, **placeholders: str) -> ServiceValidationError:
    """A user error of the record service, in the user's language (the keys are under "exceptions" in strings.json),
    like the built-in's `path_not_allowed` and `already_recording`."""
    return ServiceValidationError(translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders)


def buffered_parts(segments: Sequence[Segment]) -> tuple[bytes | None, list[Part]]:
    """The buffered parts a recording may start with (oldest first) and their init segment: those of the newest
    segments that share the newest segment's init, since a file has one."""
    if not segments:
        return None, []
    init = segments[-1].init
    newest_first: list[Segment] = []
    for segment in reversed(segments):
        if segment.init != init:
            break
        newest_first.append(segment)
    return init, [part for segment in reversed(newest_first) for part in segment.parts]


class _Recording:
    """One run of the recorder: collects parts on the event loop, writes them in the executor."""

    def __init__(
        self, stream: RecordableStream, output: StreamOutput, video_path: str, duration: float, lookback: float
    ) -> None:
        self._stream = stream
        self._output = output
        self._video_path = video_path
        self._duration = duration
        self._lookback = lookback
        self._orientation = int(stream.dynamic_stream_settings.orientation)
        self._queue: list[tuple[bytes, Part]] = []  # (init, part) that arrived after the call, not yet written
        self._init: bytes | None = None
        self._end_reason: str | None = None  # why the recording stopped short, if it did

    def _on_part(self, segment: Segment, part: Part) -> None:
        self._queue.append((segment.init, part))

    async def run(self) -> None:
        hass = self._stream.hass
        buffer = self._stream.buffer
        self._init, buffered = buffered_parts(buffer.segments)
        # Subscribing right after reading the buffer, with no await between, loses and repeats no part.
        remove_listener = buffer.add_listener(self._on_part)
        file = RecordingFile(self._video_path, self._orientation, self._duration)
        try:
            if self._init is not None:
                await hass.async_add_executor_job(
                    file.start, self._init, [part.data for part in buffered], self._lookback
                )
            await self._collect(file)
        except BaseException as err:
            # Also when cancelled: the file waits for a write still running in the executor, then goes.
            await hass.async_add_executor_job(file.discard)
            if isinstance(err, OSError):
                raise HomeAssistantError(f"Can't write {self._video_path}: {err}") from err
            raise
        finally:
            remove_listener()
        await self._finish(file)

    async def _collect(self, file: RecordingFile) -> None:
        """Write parts as they arrive until the file has its duration or the stream ends, stalls or changes format."""
        hass = self._stream.hass
        buffer = self._stream.buffer
        while True:
            fragments = self._take_queued()
            if fragments:
                assert self._init is not None
                if await hass.async_add_executor_job(file.write, self._init, fragments):
                    return
            if self._end_reason:
                return
            self._output.awake()
            if not await buffer.wait_until(lambda: bool(self._queue), RECORDER_STALL_TIMEOUT):
                if buffer.closed:
                    self._end_reason = "the stream stopped"
                else:
                    self._end_reason = f"the stream sent nothing for {RECORDER_STALL_TIMEOUT} seconds"
                return

    def _take_queued(self) -> list[bytes]:
        """The queued fragments to write next: up to a change of init segment, which ends the recording."""
        fragments: list[bytes] = []
        for init, part in self._queue:
            if self._init is None:
                self._init = init
            elif init is not self._init and init != self._init:
                self._end_reason = "the stream's format changed"
                break
            fragments.append(part.data)
        self._queue.clear()
        return fragments

    async def _finish(self, file: RecordingFile) -> None:
        hass = self._stream.hass
        path = self._video_path
        if not file.fragments_written:
            await hass.async_add_executor_job(file.discard)
            self._stream.logger.warning("Recording to %s captured nothing: %s", path, self._end_reason or "no media")
            return
        try:
            await hass.async_add_executor_job(file.finish)
        except OSError as err:
            await hass.async_add_executor_job(file.discard)
            raise HomeAssistantError(f"Can't write {path}: {err}") from err
        if self._end_reason:
            self._stream.logger.warning(
                "Recording to %s ended early, with %.1f seconds of video: %s", path, file.seconds, self._end_reason
            )
        else:
            self._stream.logger.debug("Recorded %.1f seconds to %s", file.seconds, path)
