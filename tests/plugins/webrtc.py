"""WebRTC on the tests' private loopback, and viewers that sign in over Home Assistant's websocket.

aioice never offers 127.0.0.1 as a host candidate (a real deployment must not), and the tests' network namespace has
nothing else, so `loopback_ice` makes both aiortc peers (ours and the test client) gather on loopback only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aioice.ice
import pytest
from homeassistant.components.camera import Camera
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from tests.webrtc_client import WebRtcClient

type WebRtcViewerFactory = Callable[..., AbstractAsyncContextManager[WebRtcClient]]


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch, socket_enabled: None) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
def webrtc_viewer(hass: HomeAssistant, hass_ws_client: WebSocketGenerator) -> WebRtcViewerFactory:
    """`async with webrtc_viewer(camera, **client_options) as client`: a `WebRtcClient` for the camera on an
    authenticated websocket of its own, closed (peer connection and subscription) on leaving the block."""

    @asynccontextmanager
    async def viewer(camera: Camera, **client_options: Any) -> AsyncIterator[WebRtcClient]:
        ws = await hass_ws_client(hass)
        async with WebRtcClient(ws.send_json, ws.receive_json, camera.entity_id, **client_options) as client:
            yield client

    return viewer
