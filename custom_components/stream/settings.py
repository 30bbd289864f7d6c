"""The `stream:` YAML schema and the HLS timing it implies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import voluptuous as vol
from homeassistant.helpers import config_validation as cv

from .const import (
    CONF_LL_HLS,
    CONF_PART_DURATION,
    CONF_SEGMENT_DURATION,
    CONF_WEBRTC,
    CONF_WEBRTC_H265,
    CONF_WEBRTC_MAX_SESSIONS,
    DEFAULT_LL_HLS,
    DEFAULT_PART_DURATION,
    DEFAULT_SEGMENT_DURATION,
    DEFAULT_WEBRTC,
    DEFAULT_WEBRTC_H265,
    DEFAULT_WEBRTC_MAX_SESSIONS,
    DOMAIN,
    MAX_PART_DURATION,
    MAX_SEGMENT_DURATION,
    MAX_WEBRTC_MAX_SESSIONS,
    MIN_PART_DURATION,
    MIN_SEGMENT_DURATION,
    SEGMENT_DURATION_ADJUSTER,
    TARGET_SEGMENT_DURATION_NON_LL_HLS,
)

# PART-HOLD-BACK as a multiple of the part target: the spec requires >= 2 and recommends 3. Chosen by
# bench/latency.py: the lowest factor at which hls.js showed no stalls across cold starts.
PART_HOLD_BACK_FACTOR = 2.0


def _in_range(key: str, low: float, high: float) -> vol.All:
    """A float in [low, high] whose error names the key and the range."""
    return vol.All(
        vol.Coerce(float),
        vol.Range(min=low, max=high, msg=f"{key} must be between {low:g} and {high:g} seconds"),
    )


DOMAIN_SCHEMA = vol.Schema(
    {
        vol.Optional(CONF_LL_HLS, default=DEFAULT_LL_HLS): cv.boolean,
        vol.Optional(CONF_SEGMENT_DURATION, default=DEFAULT_SEGMENT_DURATION): _in_range(
            CONF_SEGMENT_DURATION, MIN_SEGMENT_DURATION, MAX_SEGMENT_DURATION
        ),
        vol.Optional(CONF_PART_DURATION, default=DEFAULT_PART_DURATION): _in_range(
            CONF_PART_DURATION, MIN_PART_DURATION, MAX_PART_DURATION
        ),
        vol.Optional(CONF_WEBRTC, default=DEFAULT_WEBRTC): cv.boolean,
        vol.Optional(CONF_WEBRTC_H265, default=DEFAULT_WEBRTC_H265): cv.boolean,
        vol.Optional(CONF_WEBRTC_MAX_SESSIONS, default=DEFAULT_WEBRTC_MAX_SESSIONS): vol.All(
            vol.Coerce(int),
            vol.Range(
                min=1,
                max=MAX_WEBRTC_MAX_SESSIONS,
                msg=f"{CONF_WEBRTC_MAX_SESSIONS} must be between 1 and {MAX_WEBRTC_MAX_SESSIONS}",
            ),
        ),
    },
    extra=vol.ALLOW_EXTRA,
)

CONFIG_SCHEMA = vol.Schema({DOMAIN: DOMAIN_SCHEMA}, extra=vol.ALLOW_EXTRA)


@dataclass(slots=True)
class StreamSettings:
    """HLS timing of one stream. Field names match the built-in's, which other code may read."""

    ll_hls: bool
    min_segment_duration: float
    part_target_duration: float
    hls_advance_part_limit: int
    hls_part_timeout: float
    part_hold_back_factor: float = PART_HOLD_BACK_FACTOR

    @property
    def part_hold_back(self) -> float:
        return self.part_hold_back_factor * self.part_target_duration


def settings_from_config(conf: dict[str, Any]) -> StreamSettings:
    """Settings for a validated `stream:` section (an empty dict gives the defaults)."""
    conf = DOMAIN_SCHEMA(conf or {})
    if not conf[CONF_LL_HLS]:
        return non_ll_hls_settings()
    part = float(conf[CONF_PART_DURATION])
    return StreamSettings(
        ll_hls=True,
        min_segment_duration=float(conf[CONF_SEGMENT_DURATION]) - SEGMENT_DURATION_ADJUSTER,
        part_target_duration=part,
        hls_advance_part_limit=max(int(3 / part), 3),
        hls_part_timeout=2 * part,
    )


def non_ll_hls_settings() -> StreamSettings:
    """Plain HLS: two-second segments, one part each."""
    return StreamSettings(
        ll_hls=False,
        min_segment_duration=TARGET_SEGMENT_DURATION_NON_LL_HLS - SEGMENT_DURATION_ADJUSTER,
        part_target_duration=TARGET_SEGMENT_DURATION_NON_LL_HLS,
        hls_advance_part_limit=3,
        hls_part_timeout=TARGET_SEGMENT_DURATION_NON_LL_HLS,
    )
