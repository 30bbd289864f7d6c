"""WebRTC sessions under bad input, limits and failures: errors reach the frontend as events, nothing leaks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import threading
from collections.abc import Callable
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
        assert raised.value.code == "webrtc_offer_invalid", raised.value

    assert provider(hass).session_count == 0
    assert camera.stream is None


def _in_section(kind: str, edit: Callable[[str], str]) -> Callable[[str], str]:
    """An SDP rewrite applying `edit` to every line of the `kind` media section(s) only."""

    def transform(sdp: str) -> str:
        lines, current = [], None
        for line in sdp.splitlines():
            if line.startswith("m="):
                current = line[2:].split(" ", 1)[0]
            lines.append(edit(line) if current == kind else line)
        return "\r\n".join(lines) + "\r\n"

    return transform


def _drop_section(kind: str) -> Callable[[str], str]:
    def transform(sdp: str) -> str:
        sections = re.split(r"(?=^m=)", sdp, flags=re.MULTILINE)
        return "".join(section for section in sections if not section.startswith(f"m={kind} "))

    return transform


def _without(prefix: str) -> Callable[[str], str]:
    return lambda sdp: "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(prefix))


def _candidate_port(port: int) -> Callable[[str], str]:
    return lambda sdp: re.sub(r"^(a=candidate:\S+ \d+ \S+ \d+ \S+) \d+", rf"\g<1> {port}", sdp, flags=re.MULTILINE)


BAD_OFFERS: dict[str, tuple[Callable[[str], str], str]] = {
    "no fingerprint": (_without("a=fingerprint:"), "webrtc_offer_no_fingerprint"),
    "fingerprint aiortc cannot check": (
        lambda sdp: re.sub(r"^a=fingerprint:\S+", "a=fingerprint:md5", sdp, flags=re.MULTILINE),
        "webrtc_offer_no_fingerprint",
    ),
    "no DTLS role": (_without("a=setup:"), "webrtc_offer_invalid"),
    "no ICE credentials": (_without("a=ice-pwd:"), "webrtc_offer_invalid"),
    "media port out of range": (
        lambda sdp: re.sub(r"^m=video \d+", "m=video 99999999999", sdp, flags=re.MULTILINE),
        "webrtc_offer_bad_port",
    ),
    "candidate port out of range": (_candidate_port(70000), "webrtc_offer_bad_port"),
    "candidate port 0": (_candidate_port(0), "webrtc_offer_bad_port"),
    "200 KB attribute": (lambda sdp: sdp + "a=x-padding:" + "x" * 200_000 + "\r\n", "webrtc_offer_too_large"),
    "no video section": (_drop_section("video"), "webrtc_offer_no_video"),
    "video the browser only sends": (
        _in_section("video", lambda line: "a=sendonly" if line == "a=recvonly" else line),
        "webrtc_offer_no_video",
    ),
    "video rejected (port 0)": (
        _in_section("video", lambda line: re.sub(r"^m=video \d+", "m=video 0", line)),
        "webrtc_offer_no_video",
    ),
    "video without H.264": (
        _in_section("video", lambda line: line.replace(" H264/", " VP8/")),
        "webrtc_offer_no_video",
    ),
}


@pytest.mark.parametrize("case", BAD_OFFERS)
async def test_bad_offer_is_refused_before_aiortc_sees_it(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    """A clear error code at once; no session, no stream, nothing failing later in aiortc's tasks."""
    transform, code = BAD_OFFERS[case]
    camera = await ffmpeg_camera(camera_simulator.url("h264"))
    async with webrtc_viewer(camera) as client:
        with pytest.raises(SignallingError) as raised:
            await client.offer(sdp_transform=transform, trickle=False)
    assert raised.value.code == code, raised.value
    await _assert_nothing_failed_in_the_background(hass, caplog)
    assert provider(hass).session_count == 0
    assert camera.stream is None  # refused before the camera's stream was even created
    assert "Unexpected error" not in caplog.text


async def test_trickled_candidate_with_a_bad_port_is_an_error_event(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264"))
    async with webrtc_viewer(camera) as client:
        await client.offer()
        candidate = "candidate:1 1 udp 2122260223 127.0.0.1 99999 typ host"
        reply = await client.send_candidate({"candidate": candidate, "sdpMLineIndex": 0})
        assert reply["success"], reply
        async with asyncio.timeout(10):
            while not client.errors:
                await client.wait_for_event()
        assert client.errors[0].code == "webrtc_candidate_invalid"
        client.errors.clear()
        await client.wait_for_frames(video=client.video.frames + 10, timeout=20)
    await _assert_nothing_failed_in_the_background(hass, caplog)


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


async def _assert_nothing_failed_in_the_background(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    await hass.async_block_till_done()
    gc.collect()  # a failed task nobody awaited is reported when it is collected
    await hass.async_block_till_done()
    assert "Traceback" not in caplog.text
    assert "Task exception" not in caplog.text


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
