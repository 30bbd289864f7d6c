"""The integration's diagnostics (Settings → Devices & services → Stream → Download diagnostics): the `stream:`
settings and what every stream is doing. Nothing secret: sources are redacted by the streams themselves, and keys
that could hold a secret are masked again here in case a future field slips through."""

from __future__ import annotations

import dataclasses
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from . import DATA_CONFIG
from .const import ATTR_SETTINGS, ATTR_STREAMS, DOMAIN
from .core import Stream
from .settings import DOMAIN_SCHEMA, StreamSettings

# Second line of defence; no field of ours has any of these names today.
TO_REDACT = frozenset({"access_token", "token", "password", "username", "user", "auth", "credentials"})


async def async_get_config_entry_diagnostics(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, Any]:
    domain_data: dict[str, Any] = hass.data.get(DOMAIN, {})
    settings: StreamSettings | None = domain_data.get(ATTR_SETTINGS)
    streams: list[Stream] = domain_data.get(ATTR_STREAMS, [])
    data = {
        "config": _known_options(domain_data.get(DATA_CONFIG, {})),
        "hls": _hls_timing(settings) if settings is not None else None,
        "streams": [{"label": stream.label, **stream.get_diagnostics()} for stream in streams],
    }
    return async_redact_data(data, TO_REDACT)


def _known_options(conf: dict[str, Any]) -> dict[str, Any]:
    """The options of `stream:` this integration reads; the section accepts other keys, which are left out."""
    known = {str(key) for key in DOMAIN_SCHEMA.schema}
    return {key: value for key, value in conf.items() if key in known}


def _hls_timing(settings: StreamSettings) -> dict[str, Any]:
    """The HLS timing the settings imply, hold-back included."""
    return {**dataclasses.asdict(settings), "part_hold_back": settings.part_hold_back}
