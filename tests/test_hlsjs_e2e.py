"""hls.js in headless Chromium plays our stream from a running Home Assistant, LL-HLS and plain HLS."""

from __future__ import annotations

import pytest
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.stream import create_stream
from custom_components.stream.const import DOMAIN, HLS_PROVIDER
from tests.plugins.browser import HlsPlayerFactory
from tests.simulator import CameraSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

PLAY_SECONDS = 10


@pytest.mark.parametrize("ll_hls", [True, False], ids=["ll-hls", "hls"])
async def test_hlsjs_plays_the_camera(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    camera_simulator: CameraSimulator,
    hls_player: HlsPlayerFactory,
    ll_hls: bool,
) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"ll_hls": ll_hls}})
    client = await hass_client_no_auth()
    stream = create_stream(hass, camera_simulator.url("h264_aac"), {}, DynamicStreamSettings())
    stream.add_provider(HLS_PROVIDER)
    url = str(client.make_url(stream.endpoint_url(HLS_PROVIDER)))

    try:
        player = await hls_player(url, low_latency=ll_hls)
        await player.wait_for_first_frame(timeout_s=30)
        state = await player.wait_for_playback(PLAY_SECONDS, timeout_s=PLAY_SECONDS + 30)
    finally:
        await stream.stop()

    assert not state.fatal_errors, state.summary()
    assert state.frames_decoded > PLAY_SECONDS * 15
    # The simulator's timecode survived the remux: every decoded frame's band reads as a recent wall-clock time.
    assert state.latency_samples_ms, state.summary()
