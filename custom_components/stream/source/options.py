"""Per-stream options from integrations (camera `stream_options`) and the PyAV open options they become."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import voluptuous as vol
from homeassistant.exceptions import HomeAssistantError

from ..const import (
    ATTR_PREFER_TCP,
    CONF_EXTRA_PART_WAIT_TIME,
    CONF_RTSP_TRANSPORT,
    CONF_USE_WALLCLOCK_AS_TIMESTAMPS,
    CONF_VERIFY_SSL,
    RTSP_TRANSPORTS,
)
from ..settings import StreamSettings

STREAM_OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_RTSP_TRANSPORT): vol.In(RTSP_TRANSPORTS),
        vol.Optional(CONF_USE_WALLCLOCK_AS_TIMESTAMPS): bool,
        vol.Optional(CONF_EXTRA_PART_WAIT_TIME): vol.All(vol.Coerce(float), vol.Range(min=0, min_included=False)),
        vol.Optional(CONF_VERIFY_SSL): bool,
    }
)

# Socket timeout for RTSP reads, in microseconds (FFmpeg's `timeout` option for RTSP).
RTSP_SOCKET_TIMEOUT_US = 5_000_000
# Probe just enough to learn the streams: the first keyframe carries what the fMP4 writer needs, and every probed
# packet is still delivered. FFmpeg's default (5 s) would delay the first part by about a second.
PROBE_OPTIONS = {"analyzeduration": "200000", "probesize": "500000", "fpsprobesize": "0"}


def convert_stream_options(
    options: Mapping[str, str | bool | float], settings: StreamSettings
) -> tuple[dict[str, str], StreamSettings]:
    """Validate `options`; return the PyAV options they imply and the stream's own copy of the settings."""
    try:
        valid = STREAM_OPTIONS_SCHEMA(dict(options))
    except vol.Invalid as err:
        raise HomeAssistantError(f"Invalid stream options: {err}") from err

    pyav_options: dict[str, str] = {}
    if transport := valid.get(CONF_RTSP_TRANSPORT):
        pyav_options["rtsp_transport"] = transport
    if valid.get(CONF_USE_WALLCLOCK_AS_TIMESTAMPS):
        pyav_options["use_wallclock_as_timestamps"] = "1"
    pyav_options["tls_verify"] = "1" if valid.get(CONF_VERIFY_SSL) else "0"

    stream_settings = replace(settings)
    if extra := valid.get(CONF_EXTRA_PART_WAIT_TIME):
        stream_settings.hls_part_timeout += extra
    return pyav_options, stream_settings


def source_open_options(source: str, pyav_options: Mapping[str, str]) -> dict[str, str]:
    """Everything passed to `av.open` for `source`: sane defaults per protocol, explicit options win."""
    defaults: dict[str, str] = dict(PROBE_OPTIONS)
    if source.startswith(("rtsp://", "rtsps://")):
        defaults["rtsp_flags"] = ATTR_PREFER_TCP
        defaults["timeout"] = str(RTSP_SOCKET_TIMEOUT_US)
    options = defaults | dict(pyav_options)
    if "stimeout" in options:  # the option's pre-FFmpeg-5 name, still sent by some integrations
        options["timeout"] = options.pop("stimeout")
    return options
