"""FFmpeg's own log, in Python logging while the stream logger is at DEBUG (as the built-in does), credentials masked;
and FFmpeg's reports of lost RTP packets, counted at any level (`source.rtp_loss`, for the repair issue).

PyAV hands FFmpeg's messages to the `libav.<component>` loggers once a level is set (`av.logging.set_level`). We set
VERBOSE while `custom_components.stream` (or the built-in's name, `homeassistant.components.stream`, which users may
still configure) logs DEBUG, and WARNING otherwise: the lost-packet reports are warnings. Home Assistant fires
EVENT_LOGGING_CHANGED when `logger.set_level` changes a level; the bridge follows.

Every `libav` record goes through one handler of ours (the `libav` logger does not propagate): it counts lost packets,
and only while debugging hands the record on to the root logger's handlers, with credentials masked (FFmpeg messages
can quote a camera's URL with its user and password, e.g. an HTTP source it opens). Warnings of a few chatty
components stay out even then, as in the built-in; their errors pass.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE, EVENT_LOGGING_CHANGED
from homeassistant.core import Event, HomeAssistant, callback

from .redact import REDACTED, redact_text
from .source.rtp_loss import RTP_LOSS

LIBAV_LOGGER = "libav"
STREAM_LOGGERS = ("custom_components.stream", "homeassistant.components.stream")
# FFmpeg components whose warnings are noise even while debugging (the built-in quiets the first two as well).
QUIET_COMPONENTS = frozenset({"mp4", "swscaler", "rtsp", "h264", "hevc"})

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
    """Whether the stream logs DEBUG: a level set on either name decides (DEBUG on one is enough); with none set,
    our logger's inherited level (`logger: default: debug`)."""
    own_levels = [level for name in STREAM_LOGGERS if (level := logging.getLogger(name).level) != logging.NOTSET]
    if own_levels:
        return min(own_levels) <= logging.DEBUG
    return logging.getLogger(STREAM_LOGGERS[0]).isEnabledFor(logging.DEBUG)


class _LibavHandler(logging.Handler):
    """Counts lost RTP packets; while `forward`, masks credentials and hands the record to the root logger's
    handlers."""

    def __init__(self, sources: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._sources = sources
        self.forward = False

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        RTP_LOSS.report(message)
        if not self.forward:
            return
        if record.levelno < logging.ERROR and record.name.removeprefix(f"{LIBAV_LOGGER}.") in QUIET_COMPONENTS:
            return
        record.msg = redact_message(message, self._sources())
        record.args = None
        logging.getLogger().handle(record)


def set_ffmpeg_logging(debug: bool) -> None:
    """FFmpeg's messages from VERBOSE (debugging) or WARNING up reach Python. Imports PyAV: not on the event loop."""
    import av.logging

    av.logging.set_level(av.logging.VERBOSE if debug else av.logging.WARNING)


async def async_setup_ffmpeg_logging(hass: HomeAssistant, sources: Callable[[], Iterable[str]]) -> None:
    """Follow the stream logger's level from now on; undone when Home Assistant closes.

    `sources`: the current streams' sources, whose secrets are masked wherever a message quotes them."""
    libav = logging.getLogger(LIBAV_LOGGER)
    handler = _LibavHandler(sources)
    handler.forward = stream_debug_enabled()
    libav.addHandler(handler)
    libav.propagate = False
    await hass.async_add_executor_job(set_ffmpeg_logging, handler.forward)

    @callback
    def level_changed(_event: Event) -> None:
        if (debug := stream_debug_enabled()) != handler.forward:
            handler.forward = debug
            set_ffmpeg_logging(debug)

    unsub = hass.bus.async_listen(EVENT_LOGGING_CHANGED, level_changed)

    @callback
    def undo(_event: Event) -> None:
        unsub()
        libav.removeHandler(handler)
        if any(isinstance(other, _LibavHandler) for other in libav.handlers):
            return  # another Home Assistant in this process (tests) still runs its bridge
        libav.propagate = True
        import av.logging  # imported by set-up

        av.logging.set_level(None)

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, undo)
