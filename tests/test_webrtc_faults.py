"""WebRTC sessions under bad input, limits and failures: errors reach the frontend as events, nothing leaks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from homeassistant.components.camera import Camera
from homeassistant.components.camera.webrtc import CameraWebRTCProvider, async_register_webrtc_provider
from homeassistant.core import HomeAssistant, callback
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from webrtc_models import RTCIceCandidateInit

from custom_components.stream.const import DOMAIN
from custom_components.stream.outputs.webrtc import StreamWebRtcProvider
from tests.plugins.cameras import FfmpegCameraFactory, our_stream, webrtc_provider
from tests.plugins.simulator import CameraSimulatorFactory
from tests.plugins.webrtc import WebRtcViewerFactory
from tests.simulator import CameraSimulator
from tests.webrtc_client import SignallingChannel, SignallingError, WebRtcClient

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("loopback_ice")]


def provider(hass: HomeAssistant) -> StreamWebRtcProvider:
    found: StreamWebRtcProvider = hass.data[DOMAIN]["webrtc_provider"]
    return found


async def test_garbage_sdp_is_an_error_event(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264"))
    for garbage in ("not sdp at all", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n"):
        async with webrtc_viewer(camera) as client:
            with pytest.raises(SignallingError) as raised:
                await client.offer(sdp_override=garbage, trickle=False)
        assert raised.value.code in {"webrtc_offer_invalid", "webrtc_offer_failed"}, raised.value

    assert provider(hass).session_count == 0
    assert our_stream(camera).live.viewer_count == 0


async def test_garbage_candidate_is_an_error_event_and_the_session_goes_on(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264"))
    async with webrtc_viewer(camera) as client:
        await client.offer()
        reply = await client.send_candidate({"candidate": "candidate:garbage", "sdpMLineIndex": 0})
        assert reply["success"], reply
        async with asyncio.timeout(10):
            while not client.errors:
                await client.wait_for_event()
        assert client.errors[0].code == "webrtc_candidate_invalid"
        client.errors.clear()
        await client.wait_for_frames(video=client.video.frames + 10, timeout=20)


async def test_session_cap_per_camera(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264"), stream_config={"webrtc_max_sessions": 2})
    async with (
        webrtc_viewer(camera) as first,
        webrtc_viewer(camera) as second,
        webrtc_viewer(camera) as third,
    ):
        await first.offer()
        await second.offer()
        with pytest.raises(SignallingError) as raised:
            await third.offer()
        assert raised.value.code == "webrtc_too_many_sessions"
        assert "webrtc_max_sessions" in str(raised.value)
        await first.wait_for_frames(video=10)
        await second.wait_for_frames(video=10)
        assert provider(hass).session_count == 2


async def test_camera_source_stopping_ends_the_session_with_an_error(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    make_camera_simulator: CameraSimulatorFactory,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    simulator = make_camera_simulator()
    camera = await ffmpeg_camera(simulator.url("h264"))
    async with webrtc_viewer(camera) as client:
        await client.offer()
        await client.wait_for_frames(video=15)
        simulator.stop()
        async with asyncio.timeout(30):
            while not client.errors:
                await client.wait_for_event()

    assert client.errors[0].code == "webrtc_session_ended"
    assert provider(hass).session_count == 0
    assert our_stream(camera).live.viewer_count == 0


def _open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def _peer_connections() -> int:
    gc.collect()
    return sum(isinstance(obj, RTCPeerConnection) for obj in gc.get_objects())


async def _settled_resources(hass: HomeAssistant) -> tuple[int, int, int, int]:
    """(open fds, asyncio tasks, threads, live peer connections) once every closed peer connection is gone. aiortc
    ends a closed connection's ICE task by itself a few loop turns later, with no event to await: poll, bounded."""
    await hass.async_block_till_done()
    async with asyncio.timeout(10):
        while _peer_connections():  # noqa: ASYNC110  (no event to wait for: aiortc's own task)
            await asyncio.sleep(0.05)
    return _open_fds(), len(asyncio.all_tasks()), threading.active_count(), _peer_connections()


async def test_200_offer_close_cycles_leave_nothing_behind(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264_aac"))
    ws = await hass_ws_client(hass)
    # One client offer, sent 200 times: every cycle is a new session on our side (peer connection, sockets, tasks).
    async with WebRtcClient(ws.send_json, ws.receive_json, camera.entity_id) as template:
        await template.offer(trickle=False)
        offer_sdp = template.offer_sdp
    del template
    baseline = await _settled_resources(hass)
    assert baseline[3] == 0

    channel = SignallingChannel.channel_for(ws.send_json, ws.receive_json)
    channel.acquire()
    for _ in range(200):
        events = await channel.command(
            {"type": "camera/webrtc/offer", "entity_id": camera.entity_id, "offer": offer_sdp}
        )
        result = await events.get()
        assert result["success"], result
        subscription = channel.last_id
        replies: list[dict[str, Any]] = []
        while not replies or replies[-1]["type"] not in {"answer", "error"}:
            replies.append((await events.get())["event"])
        assert replies[-1]["type"] == "answer", replies
        unsubscribed = await channel.command({"type": "unsubscribe_events", "subscription": subscription})
        assert (await unsubscribed.get())["success"]
    await channel.release()
    await hass.async_block_till_done()

    assert provider(hass).session_count == 0
    assert our_stream(camera).live.viewer_count == 0
    after = await _settled_resources(hass)
    # A loaded machine finishes closing sessions later; a leak never does.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(20):
            while after != baseline:
                await asyncio.sleep(0.1)
                after = await _settled_resources(hass)
    assert after == baseline, f"(fds, tasks, threads, peer connections) before {baseline}, after {after}"


async def test_webrtc_can_be_turned_off(
    hass: HomeAssistant, camera_simulator: CameraSimulator, ffmpeg_camera: FfmpegCameraFactory
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264"), stream_config={"webrtc": False})

    assert "webrtc_provider" not in hass.data[DOMAIN]
    assert webrtc_provider(camera) is None
    assert camera.camera_capabilities.frontend_stream_types == {"hls"}


class _Go2rtcStandIn(CameraWebRTCProvider):
    """What go2rtc's provider looks like to the camera integration (the go2rtc binary is not available here)."""

    @property
    def domain(self) -> str:
        return "go2rtc"

    @callback
    def async_is_supported(self, stream_source: str) -> bool:
        return stream_source.startswith("rtsp:")

    async def async_handle_async_webrtc_offer(self, *args: object) -> None:
        raise NotImplementedError

    async def async_on_webrtc_candidate(self, session_id: str, candidate: RTCIceCandidateInit) -> None:
        raise NotImplementedError


async def test_go2rtc_serves_the_cameras_it_supports_whatever_the_registration_order(
    hass: HomeAssistant, camera_simulator: CameraSimulator, ffmpeg_camera: FfmpegCameraFactory
) -> None:
    camera: Camera = await ffmpeg_camera(camera_simulator.url("h264"))
    assert webrtc_provider(camera) is provider(hass)

    go2rtc = _Go2rtcStandIn()
    unregister = async_register_webrtc_provider(hass, go2rtc)
    await hass.async_block_till_done()
    assert webrtc_provider(camera) is go2rtc

    unregister()
    await hass.async_block_till_done()
    assert webrtc_provider(camera) is provider(hass)
