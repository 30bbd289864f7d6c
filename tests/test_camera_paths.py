"""Every camera path of Home Assistant runs through our Stream: websocket, play_stream, media source, preload.

The camera is Home Assistant's own `ffmpeg` camera platform, configured in YAML exactly as a user would, with the RTSP
camera simulator as its source.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from homeassistant.components import media_source
from homeassistant.components.camera.const import DATA_CAMERA_PREFS
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.const import EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_mock_service
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.stream.const import DOMAIN
from custom_components.stream.core import Stream
from tests.simulator import CameraSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("enable_custom_integrations", "socket_enabled")]

ENTITY_ID = "camera.demo"
INTERNAL_URL = "http://127.0.0.1:8123"


@pytest.fixture
async def demo_camera(hass: HomeAssistant, camera_simulator: CameraSimulator) -> AsyncIterator[None]:
    """stream: + an ffmpeg camera on the simulator, as in a user's configuration.yaml."""
    await async_process_ha_core_config(hass, {"internal_url": INTERNAL_URL})
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {}})
    source = camera_simulator.url("h264_aac")
    assert await async_setup_component(
        hass,
        CAMERA_DOMAIN,
        {CAMERA_DOMAIN: [{"platform": "ffmpeg", "name": "demo", "input": f"-rtsp_transport tcp -i {source}"}]},
    )
    await hass.async_block_till_done()
    yield
    camera = hass.data[CAMERA_DOMAIN].get_entity(ENTITY_ID)
    if camera is not None and camera.stream is not None:
        await camera.stream.shutdown()


def camera_stream(hass: HomeAssistant) -> Stream:
    camera = hass.data[CAMERA_DOMAIN].get_entity(ENTITY_ID)
    assert camera is not None
    assert type(camera.stream) is Stream  # ours, not the built-in's
    return camera.stream


@pytest.mark.usefixtures("demo_camera")
async def test_websocket_camera_stream_serves_our_hls(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, hass_client: ClientSessionGenerator
) -> None:
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "camera/stream", "entity_id": ENTITY_ID})
    reply = await ws.receive_json()

    assert reply["success"], reply
    url = reply["result"]["url"]
    stream = camera_stream(hass)
    assert url == f"/api/hls/{stream.access_token}/master_playlist.m3u8"
    client = await hass_client()
    response = await client.get(url)
    assert response.status == 200
    body = await response.text()
    assert 'CODECS="avc1.' in body
    assert "mp4a.40.2" in body


@pytest.mark.usefixtures("demo_camera")
async def test_play_stream_sends_absolute_hls_url(hass: HomeAssistant) -> None:
    calls = async_mock_service(hass, "media_player", "play_media")

    await hass.services.async_call(
        CAMERA_DOMAIN,
        "play_stream",
        {"entity_id": ENTITY_ID, "media_player": "media_player.tv", "format": "hls"},
        blocking=True,
    )

    stream = camera_stream(hass)
    assert len(calls) == 1
    data = calls[0].data
    assert data["media_content_id"] == f"{INTERNAL_URL}/api/hls/{stream.access_token}/master_playlist.m3u8"
    assert data["media_content_type"] == "application/vnd.apple.mpegurl"


@pytest.mark.usefixtures("demo_camera")
async def test_media_source_resolves_to_our_hls(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "media_source", {})

    resolved = await media_source.async_resolve_media(hass, f"media-source://camera/{ENTITY_ID}", None)

    stream = camera_stream(hass)
    assert resolved.url == f"/api/hls/{stream.access_token}/master_playlist.m3u8"
    assert resolved.mime_type == "application/vnd.apple.mpegurl"


@pytest.mark.usefixtures("demo_camera")
async def test_preload_starts_our_stream_at_startup(hass: HomeAssistant) -> None:
    prefs = hass.data[DATA_CAMERA_PREFS]
    await prefs.async_update(ENTITY_ID, preload_stream=True)

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()

    stream = camera_stream(hass)
    assert stream.dynamic_stream_settings.preload_stream
    assert await stream.buffer.wait_until(lambda: stream.buffer.last_segment is not None, 15)
