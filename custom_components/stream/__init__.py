"""Stream: a faster drop-in replacement for Home Assistant's built-in `stream` integration.

One PyAV worker per camera remuxes H.264/H.265 (+AAC) into fMP4 parts kept in memory and served as LL-HLS; the same
buffer feeds the recorder and snapshots. This module is the public API other Home Assistant code imports.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import SOURCE_IMPORT, ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.typing import ConfigType

from . import const
from .const import (
    ATTR_ENDPOINTS,
    ATTR_PREFER_TCP,
    ATTR_SETTINGS,
    ATTR_STREAMS,
    CONF_EXTRA_PART_WAIT_TIME,
    CONF_RTSP_TRANSPORT,
    CONF_USE_WALLCLOCK_AS_TIMESTAMPS,
    CONF_WEBRTC,
    CONF_WEBRTC_H265,
    CONF_WEBRTC_MAX_SESSIONS,
    DOMAIN,
    FORMAT_CONTENT_TYPE,
    HLS_PROVIDER,
    OUTPUT_FORMATS,
    RTSP_TRANSPORTS,
    SOURCE_TIMEOUT,
)
from .core import Stream
from .exceptions import StreamClientError, StreamOpenClientError, StreamWorkerError
from .ffmpeg_log import async_setup_ffmpeg_logging
from .issues import async_track_removed_cameras
from .orientation import Orientation
from .redact import redact_credentials
from .settings import CONFIG_SCHEMA, DOMAIN_SCHEMA, StreamSettings, settings_from_config
from .source.options import STREAM_OPTIONS_SCHEMA, convert_stream_options, source_open_options

if TYPE_CHECKING:
    from homeassistant.components.camera.prefs import DynamicStreamSettings

__all__ = [
    "ATTR_PREFER_TCP",
    "ATTR_SETTINGS",
    "CONFIG_SCHEMA",
    "CONF_EXTRA_PART_WAIT_TIME",
    "CONF_RTSP_TRANSPORT",
    "CONF_USE_WALLCLOCK_AS_TIMESTAMPS",
    "DOMAIN",
    "DOMAIN_SCHEMA",
    "FORMAT_CONTENT_TYPE",
    "HLS_PROVIDER",
    "OUTPUT_FORMATS",
    "RTSP_TRANSPORTS",
    "SOURCE_TIMEOUT",
    "STREAM_OPTIONS_SCHEMA",
    "Orientation",
    "Stream",
    "StreamClientError",
    "StreamOpenClientError",
    "StreamSettings",
    "async_check_stream_client_error",
    "create_stream",
    "redact_credentials",
]

_LOGGER = logging.getLogger(__name__)

DATA_UNDO_TAKEOVER = "undo_takeover"
DATA_CONFIG = "config"  # the validated `stream:` section, for diagnostics
DATA_WEBRTC = const.DATA_WEBRTC  # the WebRTC provider (benchmarks and tests read it here)


def create_stream(
    hass: HomeAssistant,
    stream_source: str,
    options: Mapping[str, str | bool | float],
    dynamic_stream_settings: DynamicStreamSettings,
    stream_label: str | None = None,
) -> Stream:
    """A new, unstarted stream for `stream_source` (the camera integration calls this)."""
    if DOMAIN not in hass.config.components or DOMAIN not in hass.data:
        raise HomeAssistantError("Stream integration is not set up.")
    pyav_options, stream_settings = convert_stream_options(options, hass.data[DOMAIN][ATTR_SETTINGS])
    stream = Stream(hass, stream_source, pyav_options, stream_settings, dynamic_stream_settings, stream_label)
    hass.data[DOMAIN][ATTR_STREAMS].append(stream)
    return stream


async def async_check_stream_client_error(
    hass: HomeAssistant, source: str, pyav_options: Mapping[str, str | bool | float] | None = None
) -> None:
    """Open `source` once (off the event loop) and raise StreamOpenClientError if that fails.

    `pyav_options` are stream options (`rtsp_transport`, ...), converted as for `create_stream` (as in the built-in).
    """
    from .source.worker import open_source

    if DOMAIN not in hass.data:
        raise HomeAssistantError("Stream integration is not set up.")
    open_options, _ = convert_stream_options(pyav_options or {}, hass.data[DOMAIN][ATTR_SETTINGS])

    def probe() -> None:
        try:
            open_source(source, source_open_options(source, open_options)).close()
        except StreamWorkerError as err:
            raise StreamOpenClientError(str(err), err.error_code) from err

    await hass.async_add_executor_job(probe)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: settings, HLS views, the takeover of the built-in, shutdown."""
    from .outputs.hls import async_register_hls_views
    from .takeover import take_over_builtin

    conf: dict[str, Any] = DOMAIN_SCHEMA(config.get(DOMAIN) or {})
    hass.data[DOMAIN] = {
        ATTR_ENDPOINTS: {HLS_PROVIDER: "/api/hls/{}/master_playlist.m3u8"},
        ATTR_STREAMS: [],
        ATTR_SETTINGS: settings_from_config(conf),
        DATA_CONFIG: conf,
    }
    await async_setup_ffmpeg_logging(hass, lambda: _stream_sources(hass))
    async_track_removed_cameras(hass)
    async_register_hls_views(hass)
    hass.data[DOMAIN][DATA_UNDO_TAKEOVER] = take_over_builtin({"create_stream": create_stream, "Stream": Stream})
    if conf[CONF_WEBRTC]:
        # aiortc takes a while to import: not on the event loop.
        webrtc = await hass.async_add_import_executor_job(importlib.import_module, f"{__name__}.outputs.webrtc")
        hass.data[DOMAIN][DATA_WEBRTC] = await webrtc.async_setup_webrtc(
            hass, conf[CONF_WEBRTC_MAX_SESSIONS], lambda source: _is_streaming(hass, source), conf[CONF_WEBRTC_H265]
        )

    async def shutdown(event: Event) -> None:
        await _async_shutdown(hass)

    @callback
    def undo_takeover(event: Event) -> None:
        hass.data[DOMAIN].pop(DATA_UNDO_TAKEOVER)()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, shutdown)
    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, undo_takeover)
    if not hass.config_entries.async_entries(DOMAIN, include_ignore=True):
        # The entry only makes Home Assistant offer "Download diagnostics"; everything else comes from YAML.
        hass.async_create_task(
            hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_IMPORT}, data={}),
            f"{DOMAIN} config entry for diagnostics",
        )
    return True


async def _async_shutdown(hass: HomeAssistant) -> None:
    """Home Assistant is stopping: the WebRTC sessions, then every stream."""
    if (provider := hass.data[DOMAIN].get(DATA_WEBRTC)) is not None:
        await provider.async_shutdown()
    streams: list[Stream] = hass.data[DOMAIN][ATTR_STREAMS]
    for stream in list(streams):
        # One stream failing to stop must not leave the others running.
        try:
            await stream.shutdown()
        except Exception:
            _LOGGER.exception("Error shutting down stream %s", redact_credentials(stream.source))
    _LOGGER.debug("Stopped %d streams", len(streams))


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Nothing to do: `async_setup` set everything up; the entry exists for its diagnostics."""
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    return True


def _stream_sources(hass: HomeAssistant) -> list[str]:
    """Every stream's source (read from any thread: FFmpeg logs from the workers)."""
    streams: list[Stream] = hass.data.get(DOMAIN, {}).get(ATTR_STREAMS, [])
    return [stream.source for stream in list(streams)]


def _is_streaming(hass: HomeAssistant, source: str) -> bool:
    streams: list[Stream] = hass.data[DOMAIN][ATTR_STREAMS]
    return any(stream.source == source and stream.worker_running for stream in streams)
