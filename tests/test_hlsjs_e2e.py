"""hls.js in headless Chromium plays our stream from a running Home Assistant, LL-HLS and plain HLS."""

from __future__ import annotations

import numpy as np
import pytest
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.components.stream import Orientation
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from numpy.typing import NDArray
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.stream import create_stream
from custom_components.stream.const import DOMAIN, HLS_PROVIDER
from tests.browser_harness import FRONTEND_HLS_JS, HLS_JS_VERSIONS
from tests.orientations import ORIENTATIONS
from tests.plugins.browser import HlsPlayerFactory
from tests.simulator import CameraSimulator
from tests.simulator.pattern import TestPattern

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

PLAY_SECONDS = 10


@pytest.mark.parametrize(
    ("ll_hls", "hls_version"),
    [(True, version) for version in HLS_JS_VERSIONS] + [(False, FRONTEND_HLS_JS)],
    ids=[f"ll-hls-{version}" for version in HLS_JS_VERSIONS] + ["hls"],
)
async def test_hlsjs_plays_the_camera(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    camera_simulator: CameraSimulator,
    hls_player: HlsPlayerFactory,
    ll_hls: bool,
    hls_version: str,
) -> None:
    """The hls.js versions users have, with the frontend's settings, play without loading any media twice."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"ll_hls": ll_hls}})
    client = await hass_client_no_auth()
    stream = create_stream(hass, camera_simulator.url("h264_aac"), {}, DynamicStreamSettings())
    stream.add_provider(HLS_PROVIDER)
    url = str(client.make_url(stream.endpoint_url(HLS_PROVIDER)))

    try:
        player = await hls_player(url, low_latency=ll_hls, hls_version=hls_version)
        await player.wait_for_first_frame(timeout_s=30)
        state = await player.wait_for_playback(PLAY_SECONDS, timeout_s=PLAY_SECONDS + 30)
    finally:
        await stream.stop()

    assert not state.fatal_errors, state.summary()
    assert state.hls_version == hls_version
    assert state.repeated_media_loads == 0, state.summary()
    assert state.frames_decoded > PLAY_SECONDS * 15
    # The simulator's timecode survived the remux: every decoded frame's band reads as a recent wall-clock time.
    assert state.latency_samples_ms, state.summary()


# The displayed picture, drawn from the <video> element the way a page draws it, scaled so its longer side is `size`.
DRAW_PICTURE_JS = """(size) => {
  const video = document.querySelector("video");
  const scale = size / Math.max(video.videoWidth, video.videoHeight);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  const context = canvas.getContext("2d");
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const grey = [];
  for (let i = 0; i < rgba.length; i += 4) {
    grey.push(Math.round(0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2]));
  }
  return { width: canvas.width, height: canvas.height, grey };
}"""
PICTURE_SIZE = 192


def picture_layout(picture: NDArray[np.floating]) -> tuple[str, str]:
    """Where the test pattern's timecode band lies (the edge whose pixels are nearly all black or white cells) and
    which end of the opposite edge is brighter (the white colour bar; the bars run white to blue)."""
    strips = {
        "top": picture[:2, :].mean(axis=0),
        "bottom": picture[-2:, :].mean(axis=0),
        "left": picture[:, :2].mean(axis=1),
        "right": picture[:, -2:].mean(axis=1),
    }
    extreme = {edge: float(np.mean((strip < 12) | (strip > 243))) for edge, strip in strips.items()}
    band = max(extreme, key=extreme.__getitem__)
    opposite = strips[{"top": "bottom", "bottom": "top", "left": "right", "right": "left"}[band]]
    quarter = len(opposite) // 4
    bright = "start" if opposite[:quarter].mean() > opposite[-quarter:].mean() else "end"
    return band, bright


def reference_layout(orientation: int) -> tuple[str, str]:
    """The layout of the simulator's picture (full-range grey), turned as `orientation` says."""
    pattern = TestPattern(PICTURE_SIZE, PICTURE_SIZE * 9 // 16, 30)
    luma = np.frombuffer(pattern.render(0, 0x5A5A5A5A), np.uint8)[: pattern.width * pattern.height]
    grey = (luma.reshape(pattern.height, pattern.width).astype(float) - 16) * 255 / 219
    return picture_layout(ORIENTATIONS[orientation](grey))


def test_the_eight_orientations_have_distinct_layouts() -> None:
    assert len({reference_layout(orientation) for orientation in ORIENTATIONS}) == len(ORIENTATIONS)


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
async def test_hlsjs_shows_the_camera_turned_by_its_orientation(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    camera_simulator: CameraSimulator,
    hls_player: HlsPlayerFactory,
    orientation: int,
) -> None:
    """The orientation reaches the screen through the init segment's matrix alone: Chromium turns the picture."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    client = await hass_client_no_auth()
    settings = DynamicStreamSettings(orientation=Orientation(orientation))
    stream = create_stream(hass, camera_simulator.url("h264"), {}, settings)
    stream.add_provider(HLS_PROVIDER)
    url = str(client.make_url(stream.endpoint_url(HLS_PROVIDER)))

    try:
        player = await hls_player(url, decode_timecode=False)
        await player.wait_for_first_frame(timeout_s=30)
        drawn = await player.page.evaluate(DRAW_PICTURE_JS, PICTURE_SIZE)
    finally:
        await stream.stop()

    picture = np.array(drawn["grey"], dtype=float).reshape(drawn["height"], drawn["width"])
    landscape = drawn["width"] > drawn["height"]
    assert landscape == (orientation <= 4)
    assert picture_layout(picture) == reference_layout(orientation)
