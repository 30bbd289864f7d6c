"""FFmpeg's own log, in Python logging while the stream logger is at DEBUG (as the built-in does), credentials masked.

PyAV hands FFmpeg's messages to the `libav.<component>` loggers once a level is set (`av.logging.set_level`). We set
VERBOSE while `custom_components.stream` (or the built-in's name, `homeassistant.components.stream`, which users may
still configure) logs DEBUG, and turn the bridge off otherwise: FFmpeg's messages are noise for users, and PyAV then
also stops attaching the last FFmpeg error of *any* thread to exceptions. Home Assistant fires EVENT_LOGGING_CHANGED
when `logger.set_level` changes a level; the bridge follows.

FFmpeg messages can quote a camera's URL with its user and password (e.g. an HTTP source it opens). Records of the
`libav` loggers go through one handler of ours that masks them, then on to the root logger's handlers as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE, EVENT_LOGGING_CHANGED
from homeassistant.core import Event, HomeAssistant, callback

from .redact import REDACTED, redact_text

LIBAV_LOGGER = "libav"
STREAM_LOGGERS = ("custom_components.stream", "homeassistant.components.stream")
# FFmpeg components whose warnings are noise even while debugging (the built-in quiets the first two as well).
QUIET_COMPONENTS = ("mp4", "swscaler", "rtsp", "h264", "hevc")

# user:password@ in any URL of a message, and credential-like query values.
_USERINFO = re.compile(r"(?<=://)[^/@\s'\"]+(?=@)")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:auth|user|username|password|pass|pwd|token|key)=)[^&\s'\"]*")


def redact_message(message: str, sources: Iterable[str] = ()) -> str:
    """`message` with every URL's credentials and each of `sources`' secrets masked."""
    for source in sources:
        message = redact_text(message, source)
    message = _USERINFO.sub(REDACTED, message)
    return _SECRET_QUERY.sub(rf"\g<1>{REDACTED}", message)


def stream_debug_enabled() -> bool:
    return any(logging.getLogger(name).isEnabledFor(logging.DEBUG) for name in STREAM_LOGGERS)


class _RedactingHandler(logging.Handler):
    """Masks credentials in a `libav` record, then hands it to the root logger's handlers (it does not propagate)."""

    def __init__(self, sources: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._sources = sources

    def emit(self, record: logging.LogRecord) -> None:
        record.msg = redact_message(record.getMessage(), self._sources())
        record.args = None
        logging.getLogger().handle(record)


def set_ffmpeg_logging(enabled: bool) -> None:
    """FFmpeg's messages reach Python logging (VERBOSE and up) or not at all. Imports PyAV: not on the event loop."""
    import av.logging

    av.logging.set_level(av.logging.VERBOSE if enabled else None)


async def async_setup_ffmpeg_logging(hass: HomeAssistant, sources: Callable[[], Iterable[str]]) -> None:
    """Follow the stream logger's level from now on; undone when Home Assistant closes.

    `sources`: the current streams' sources, whose secrets are masked wherever a message quotes them."""
    libav = logging.getLogger(LIBAV_LOGGER)
    handler = _RedactingHandler(sources)
    libav.addHandler(handler)
    propagated, libav.propagate = libav.propagate, False
    for component in QUIET_COMPONENTS:
        logging.getLogger(f"{LIBAV_LOGGER}.{component}").setLevel(logging.ERROR)
    state = {"debug": stream_debug_enabled()}
    await hass.async_add_executor_job(set_ffmpeg_logging, state["debug"])

    @callback
    def level_changed(_event: Event) -> None:
        if (debug := stream_debug_enabled()) != state["debug"]:
            state["debug"] = debug
            set_ffmpeg_logging(debug)

    unsub = hass.bus.async_listen(EVENT_LOGGING_CHANGED, level_changed)

    @callback
    def undo(_event: Event) -> None:
        unsub()
        libav.removeHandler(handler)
        libav.propagate = propagated
        set_ffmpeg_logging(False)

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, undo)
