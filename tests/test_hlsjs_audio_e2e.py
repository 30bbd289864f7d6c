"""hls.js in headless Chromium plays the sound of cameras whose audio HLS cannot carry as it is (transcoded to AAC in
the worker), and the picture keeps going."""

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

PLAY_SECONDS = 4
# Chromium's count of the AAC bytes its audio decoder has decoded for the <video> element (also while muted).
AUDIO_BYTES_JS = "() => document.querySelector('video').webkitAudioDecodedByteCount"
# The simulator's quiet ticks make small AAC frames (about 6 kbit/s at 8 kHz, 18 at 48 kHz): half of the smaller.
MIN_AUDIO_BYTES_PER_SECOND = 400


@pytest.mark.parametrize("mount", ["h264_pcmu", "h264_opus"])
async def test_hlsjs_plays_the_sound_of_a_camera_we_transcode(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    camera_simulator: CameraSimulator,
    hls_player: HlsPlayerFactory,
    mount: str,
) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    client = await hass_client_no_auth()
    stream = create_stream(hass, camera_simulator.url(mount), {}, DynamicStreamSettings())
    stream.add_provider(HLS_PROVIDER)
    url = str(client.make_url(stream.endpoint_url(HLS_PROVIDER)))

    try:
        player = await hls_player(url, decode_timecode=False)
        await player.wait_for_first_frame(timeout_s=30)
        before = await player.page.evaluate(AUDIO_BYTES_JS)
        first = await player.state()
        state = await player.wait_for_playback(PLAY_SECONDS, timeout_s=PLAY_SECONDS + 30)
        after = await player.page.evaluate(AUDIO_BYTES_JS)
    finally:
        await stream.stop()

    assert not state.fatal_errors, state.summary()
    assert after - before >= PLAY_SECONDS * MIN_AUDIO_BYTES_PER_SECOND, (before, after)
    assert state.frames_decoded - first.frames_decoded > PLAY_SECONDS * 15  # the picture kept going with the sound
    assert stream.get_diagnostics()["audio_codec"] == f"aac (transcoded from {mount.removeprefix('h264_')})".replace(
        "pcmu", "pcm_mulaw"
    )
