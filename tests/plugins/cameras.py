"""`ffmpeg_camera`: Home Assistant's own `ffmpeg` camera platform on a simulator mount, configured as a user would
in configuration.yaml (`stream:` with the given options, `ffmpeg:`, `camera: - platform: ffmpeg`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from homeassistant.components.camera import Camera
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.setup import async_setup_component

from custom_components.stream.const import DOMAIN
from custom_components.stream.core import Stream

INTERNAL_URL = "http://127.0.0.1:8123"

type FfmpegCameraFactory = Callable[..., Awaitable[Camera]]


@pytest.fixture
async def ffmpeg_camera(hass: HomeAssistant) -> AsyncIterator[FfmpegCameraFactory]:
    """Sets up `stream:` (with `stream_config`) and one ffmpeg camera per source URL; entity ids camera.<name>."""
    cameras: list[Camera] = []

    async def make(source: str, *, name: str = "demo", stream_config: dict[str, Any] | None = None) -> Camera:
        if not cameras:
            await async_process_ha_core_config(hass, {"internal_url": INTERNAL_URL})
            assert await async_setup_component(hass, DOMAIN, {DOMAIN: stream_config or {}})
            assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {}})
            assert await async_setup_component(
                hass,
                CAMERA_DOMAIN,
                {CAMERA_DOMAIN: [{"platform": "ffmpeg", "name": name, "input": f"-rtsp_transport tcp -i {source}"}]},
            )
        # The background tasks include learning the camera's codecs (then WebRTC is offered or not).
        await hass.async_block_till_done(wait_background_tasks=True)
        camera: Camera | None = hass.data[CAMERA_DOMAIN].get_entity(f"camera.{name}")
        assert camera is not None
        cameras.append(camera)
        return camera

    yield make
    for camera in cameras:
        if camera.stream is not None:
            await our_stream(camera).shutdown()


def our_stream(camera: Camera) -> Stream:
    """The camera's stream, which the takeover made ours (typed as the built-in's by the camera integration)."""
    stream: object = camera.stream
    assert isinstance(stream, Stream), stream
    return stream


def webrtc_provider(camera: Camera) -> object:
    """The camera's WebRTC provider, re-read on every call (it changes as providers come and go)."""
    return camera.webrtc_provider
