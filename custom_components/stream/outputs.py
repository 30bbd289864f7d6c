"""Outputs of a stream (HLS, recorder): each a view of the stream's media buffer with its own idle timer."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from .media import MediaBuffer, Segment
from .settings import StreamSettings

if TYPE_CHECKING:
    from homeassistant.components.camera.prefs import DynamicStreamSettings


class IdleTimer:
    """Calls `idle_callback` when nobody has asked for media for `timeout` seconds (`startup_timeout` at first)."""

    def __init__(
        self,
        hass: HomeAssistant,
        timeout: float,
        idle_callback: Callable[[], None],
        startup_timeout: float | None = None,
    ) -> None:
        self._hass = hass
        self._timeout = timeout
        self._startup_timeout = startup_timeout or timeout
        self._callback = idle_callback
        self._unsub: CALLBACK_TYPE | None = None
        self.idle = False

    @callback
    def start(self) -> None:
        """Arm the start-up timeout unless a timer is already running."""
        if self._unsub is None:
            self._arm(self._startup_timeout)

    @callback
    def awake(self) -> None:
        """Media was requested: the idle countdown starts again."""
        self.idle = False
        self._cancel()
        self._arm(self._timeout)

    @callback
    def clear(self) -> None:
        self._cancel()

    @callback
    def fire(self) -> None:
        self._unsub = None
        self.idle = True
        self._callback()

    def _arm(self, delay: float) -> None:
        handle = self._hass.loop.call_later(delay, self.fire)
        self._unsub = handle.cancel

    def _cancel(self) -> None:
        if self._unsub is not None:
            self._unsub()
            self._unsub = None


class StreamOutput:
    """One consumer format of a stream (the built-in's API, over our shared buffer)."""

    def __init__(
        self,
        name: str,
        idle_timer: IdleTimer,
        buffer: MediaBuffer,
        stream_settings: StreamSettings,
        dynamic_stream_settings: DynamicStreamSettings,
    ) -> None:
        self._name = name
        self.idle_timer = idle_timer
        self.buffer = buffer
        self.stream_settings = stream_settings
        self.dynamic_stream_settings = dynamic_stream_settings

    @property
    def name(self) -> str:
        return self._name

    @property
    def idle(self) -> bool:
        return self.idle_timer.idle

    @callback
    def awake(self) -> None:
        self.idle_timer.awake()

    @property
    def last_sequence(self) -> int:
        return self.buffer.last_sequence

    @property
    def sequences(self) -> list[int]:
        return [segment.sequence for segment in self.buffer.segments]

    @property
    def last_segment(self) -> Segment | None:
        return self.buffer.last_segment

    def get_segment(self, sequence: int) -> Segment | None:
        return self.buffer.get_segment(sequence)

    def get_segments(self) -> list[Segment]:
        return self.buffer.segments

    async def part_recv(self, timeout: float | None = None) -> bool:
        """Wait for the next part; False on timeout or when the stream stops."""
        return await self.buffer.wait_for_change(timeout)

    async def recv(self) -> bool:
        """Wait for the next complete segment; False when the stream stops."""
        sequence = self.buffer.last_sequence
        return await self.buffer.wait_until(
            lambda: any(seg.complete and seg.sequence > sequence for seg in self.buffer.segments), None
        )

    @callback
    def cleanup(self) -> None:
        self.idle_timer.clear()
