"""Snapshots from the stream: the worker hands over every video keyframe, callers get it as a JPEG.

Only the latest keyframe is kept. It is decoded (in the executor, by a private decoder) the first time someone asks
for it, and at most once however many callers ask; each JPEG size/orientation is encoded once per keyframe too.
When a keyframe does not decode, callers get the previous image.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant

from .image import decode_keyframe, render_jpeg

if TYPE_CHECKING:
    from av.video.frame import VideoFrame

_LOGGER = logging.getLogger(__name__)

# How long a caller waits for the next keyframe (or the first one) before taking what there is: under the camera
# integration's own 10 s limit, so a stalled stream still yields its latest image rather than a timeout.
NEXT_KEYFRAME_TIMEOUT = 8.0

type _ImageKey = tuple[int, int | None, int | None, int]  # generation, width, height, orientation


@dataclass(frozen=True, slots=True)
class _Keyframe:
    generation: int  # counts keyframes from 1
    codec: str
    extradata: bytes | None
    data: bytes


class KeyframeConverter:
    """Keeps the latest keyframe and turns it into a JPEG on request."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._state_lock = threading.Lock()  # keyframe and caches; never held while decoding
        self._keyframe: _Keyframe | None = None
        self._generation = 0  # keyframes so far (kept when the keyframe is released)
        self._decoded: tuple[int, VideoFrame | None] | None = None  # generation and picture (None: didn't decode)
        self._images: dict[_ImageKey, bytes] = {}  # JPEGs of the decoded generation
        self._last_image: bytes | None = None
        self._render_lock = threading.Lock()  # one decode/encode at a time, even if a caller gave up waiting
        self._caller_lock = asyncio.Lock()  # callers queue here rather than tying up executor threads
        self._arrived = asyncio.Event()  # set (and replaced) on every keyframe
        self._jpeg_encoder: Any = None
        self.decode_count = 0  # keyframes decoded so far (diagnostics, tests)

    # -- worker thread ------------------------------------------------------------------------------------------

    def on_keyframe(self, codec: str, extradata: bytes | None, data: bytes) -> None:
        """Called from the worker thread for every video keyframe."""
        with self._state_lock:
            self._generation += 1
            self._keyframe = _Keyframe(self._generation, codec, extradata, data)
        with contextlib.suppress(RuntimeError):  # the event loop is closed: Home Assistant is gone
            self._hass.loop.call_soon_threadsafe(self._keyframe_arrived)

    # -- event loop ---------------------------------------------------------------------------------------------

    def _keyframe_arrived(self) -> None:
        self._arrived.set()
        self._arrived = asyncio.Event()

    @property
    def generation(self) -> int:
        """The number of the latest keyframe; 0 before the first."""
        with self._state_lock:
            return self._generation

    def release(self) -> None:
        """The stream stopped: drop the keyframe and the decoded picture (they hold the camera's bytes and a raw
        frame); the last JPEG stays, for a caller asking for an image right after a restart, as in the built-in."""
        with self._state_lock:
            self._keyframe = None
            self._decoded = None
            self._images = {}

    async def async_get_image(
        self, width: int | None, height: int | None, wait_for_next_keyframe: bool, orientation: int
    ) -> bytes | None:
        """A JPEG of the latest keyframe (of the next one, when asked to wait, or when there is none yet); the
        previous image if it doesn't decode; None when there has never been one."""
        generation = self.generation
        if wait_for_next_keyframe or not self._has_picture():
            await self._wait_for_keyframe_after(generation)
        async with self._caller_lock:
            if (image := self._cached_image(width, height, orientation)) is not None:
                return image
            return await self._hass.async_add_executor_job(self._render, width, height, orientation)

    async def _wait_for_keyframe_after(self, generation: int) -> None:
        try:
            async with asyncio.timeout(NEXT_KEYFRAME_TIMEOUT):
                while self.generation <= generation:
                    await self._arrived.wait()
        except TimeoutError:
            _LOGGER.debug("No new keyframe within %s seconds; using the latest", NEXT_KEYFRAME_TIMEOUT)

    def _has_picture(self) -> bool:
        """A keyframe or an earlier JPEG to answer with (not after a release that left no JPEG)."""
        with self._state_lock:
            return self._keyframe is not None or self._last_image is not None

    def _cached_image(self, width: int | None, height: int | None, orientation: int) -> bytes | None:
        with self._state_lock:
            if self._keyframe is None:
                return self._last_image
            return self._images.get((self._keyframe.generation, width, height, orientation))

    # -- executor -----------------------------------------------------------------------------------------------

    def _render(self, width: int | None, height: int | None, orientation: int) -> bytes | None:
        with self._render_lock:
            with self._state_lock:
                keyframe = self._keyframe
            if keyframe is None:
                return self._last_image
            key = (keyframe.generation, width, height, orientation)
            if (image := self._images.get(key)) is not None:
                return image  # made while this caller waited for the lock
            frame = self._picture(keyframe)
            if frame is None:
                return self._last_image
            try:
                image = render_jpeg(frame, width, height, orientation, self._encoder())
            except (ValueError, OSError) as err:
                _LOGGER.debug("Could not encode a snapshot: %s", err)
                return self._last_image
            with self._state_lock:
                self._images[key] = image
                self._last_image = image
            return image

    def _picture(self, keyframe: _Keyframe) -> VideoFrame | None:
        """The decoded keyframe: decoded once per generation, whatever the outcome."""
        if self._decoded is not None and self._decoded[0] == keyframe.generation:
            return self._decoded[1]
        import av

        self.decode_count += 1
        frame: VideoFrame | None
        try:
            frame = decode_keyframe(keyframe.codec, keyframe.extradata, keyframe.data)
        except (av.FFmpegError, ValueError) as err:
            _LOGGER.debug("Could not decode the latest %s keyframe: %s", keyframe.codec, err)
            frame = None
        with self._state_lock:
            if self._keyframe is keyframe:  # not released (nor replaced) meanwhile
                self._decoded = (keyframe.generation, frame)
                self._images = {}
        return frame

    def _encoder(self) -> Any:
        if self._jpeg_encoder is None:
            from homeassistant.components.camera.img_util import TurboJPEGSingleton

            self._jpeg_encoder = TurboJPEGSingleton.instance()
        if not self._jpeg_encoder:
            raise ValueError("libturbojpeg is not available")
        return self._jpeg_encoder
