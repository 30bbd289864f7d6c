"""`stream_factory`: our integration set up in the test's Home Assistant, and streams made through its public API;
`recordings`: a directory Home Assistant may record into."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.components.stream import Orientation  # the type camera's settings hold
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.stream import Stream, create_stream
from custom_components.stream.const import DOMAIN


@pytest.fixture
async def stream_factory(hass: HomeAssistant) -> AsyncIterator[Callable[..., Stream]]:
    """Creates streams with `create_stream` (optionally with an orientation); shuts them all down at the end."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    streams: list[Stream] = []

    def make(source: str, orientation: Orientation = Orientation.NO_TRANSFORM) -> Stream:
        settings = DynamicStreamSettings(orientation=orientation)
        stream = create_stream(hass, source, {}, settings, stream_label="camera.test")
        streams.append(stream)
        return stream

    yield make
    for stream in streams:
        await stream.shutdown()


@pytest.fixture
def recordings(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A directory Home Assistant may write recordings to (its only allowed external directory)."""
    allowed = tmp_path / "recordings"
    allowed.mkdir()
    hass.config.allowlist_external_dirs = {str(allowed)}
    return allowed
