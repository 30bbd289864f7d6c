"""Outputs of a stream (HLS, recorder): each a view of the stream's media buffer with its own idle timer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback

from ..remux.media import MediaBuffer, Segment
from ..settings import StreamSettings

if TYPE_CHECKING:
    from homeassistant.components.camera.prefs import DynamicStreamSettings

# A client counts as a viewer for this long after its last request (HLS players ask every part or segment).
VIEWER_WINDOW = 10.0
# Clients remembered per output at most, so requests from many addresses cannot grow memory.
MAX_REMEMBERED_CLIENTS = 256


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
    def hold(self) -> None:
        """Somebody is watching without requesting media (a live viewer): not idle until `awake()` again."""
        self.idle = False
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


class RecentClients:
    """The distinct clients seen in the last `VIEWER_WINDOW` seconds (event loop only)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_seen: dict[str, float] = {}  # ordered oldest first: a client seen again moves to the end

    def saw(self, client: str) -> None:
        self._last_seen.pop(client, None)
        self._last_seen[client] = self._clock()
        self._forget_expired()
        if len(self._last_seen) > MAX_REMEMBERED_CLIENTS:
            del self._last_seen[next(iter(self._last_seen))]

    def count(self) -> int:
        self._forget_expired()
        return len(self._last_seen)

    def _forget_expired(self) -> None:
        horizon = self._clock() - VIEWER_WINDOW
        while self._last_seen and next(iter(self._last_seen.values())) < horizon:
            del self._last_seen[next(iter(self._last_seen))]


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
        self._recent_clients = RecentClients()
        self._viewer_counter: Callable[[], int] | None = None

    @property
    def name(self) -> str:
        return self._name

    @callback
    def saw_client(self, client: str) -> None:
        """A request for media from `client` (an HLS player); it counts as a viewer for a while."""
        self._recent_clients.saw(client)

    @callback
    def set_viewer_counter(self, counter: Callable[[], int]) -> None:
        """For outputs whose viewers hold sessions rather than send requests (WebRTC): `viewers` asks `counter`."""
        self._viewer_counter = counter

    @property
    def viewers(self) -> int:
        """How many are watching: the counter's answer, else the distinct clients of the last seconds."""
        if self._viewer_counter is not None:
            return self._viewer_counter()
        return self._recent_clients.count()

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
