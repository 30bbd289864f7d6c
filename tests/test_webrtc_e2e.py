"""WebRTC through Home Assistant's websocket API, answered by our aiortc provider from the camera simulator."""

from __future__ import annotations

import threading

import av
import pytest
from aiortc.rtp import RtpPacket
from aiortc.sdp import SessionDescription
from homeassistant.core import HomeAssistant

from custom_components.stream.core import Stream
from custom_components.stream.outputs.webrtc import StreamWebRtcProvider, rtp_video
from tests.plugins.cameras import FfmpegCameraFactory, our_stream, webrtc_provider
from tests.plugins.webrtc import WebRtcViewerFactory
from tests.simulator import CameraSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("loopback_ice")]


async def test_aiortc_client_receives_h264_and_aac_as_opus(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264_aac"))
    async with webrtc_viewer(camera) as client:
        answer = await client.offer()
        await client.wait_for_frames(video=60, audio=25, timeout=30)

    assert "H264" in answer
    assert client.video.width == 640
    assert client.video.height == 360
    assert 20 < client.video.fps < 40, client.video
    assert "opus" in answer
    assert client.audio.sample_rate == 48000
    assert isinstance(our_stream(camera), Stream)


async def test_pcmu_audio_passes_through(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264_pcmu"))
    async with webrtc_viewer(camera) as client:
        answer = await client.offer()
        await client.wait_for_frames(video=30, audio=25, timeout=30)

    assert "PCMU/8000" in answer
    assert "opus" not in answer
    assert client.audio.sample_rate == 8000


def _camera_audio_payloads(url: str, stop: threading.Event) -> set[bytes]:
    """The audio packets the camera sends (the simulator's mounts share one encoder among their clients), read
    with PyAV until `stop` is set."""
    payloads: set[bytes] = set()
    with av.open(url, options={"rtsp_transport": "tcp"}) as container:
        for packet in container.demux(container.streams.audio[0]):
            if packet.size:
                payloads.add(bytes(packet))
            if stop.is_set():
                break
    return payloads


async def test_opus_audio_passes_through_with_the_cameras_own_bytes(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    """Issue 16 req. 4: every Opus payload the client receives is one the camera sent, byte for byte (a decode and
    re-encode would never reproduce them), and no transcoder runs."""
    url = camera_simulator.url("h264_opus")
    camera = await ffmpeg_camera(url)
    stop = threading.Event()
    camera_side = hass.async_add_executor_job(_camera_audio_payloads, url, stop)
    received: list[bytes] = []
    try:
        async with webrtc_viewer(camera) as client:
            answer = await client.offer()
            receiver = client.pc.getTransceivers()[1].receiver
            handle = receiver._handle_rtp_packet

            async def record(packet: RtpPacket, arrival_time_ms: int) -> None:
                received.append(packet.payload)
                await handle(packet, arrival_time_ms)

            receiver._handle_rtp_packet = record  # type: ignore[method-assign]
            await client.wait_for_frames(video=30, audio=100, timeout=30)
            transcoder = our_stream(camera).live._transcoder
    finally:
        stop.set()
        sent = await camera_side

    assert "opus/48000/2" in answer
    assert client.audio.sample_rate == 48000
    assert transcoder is None
    assert len(received) >= 50
    matched = sum(payload in sent for payload in received)
    assert matched >= len(received) * 0.95, (matched, len(received))


def _video_payload_types(answer: str) -> tuple[int, int | None]:
    """The answer's H.264 payload type and its RTX payload type (None without RTX)."""
    video = next(media for media in SessionDescription.parse(answer).media if media.kind == "video")
    media_pt = video.rtp.codecs[0].payloadType
    assert media_pt is not None
    rtx = (codec.payloadType for codec in video.rtp.codecs if codec.parameters.get("apt") == media_pt)
    return media_pt, next(rtx, None)


async def test_lost_video_packets_are_resent_as_rtx_and_the_video_plays_on(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    """The client drops every 10th video packet it receives; its NACKs bring them back as RTX from our sender."""
    camera = await ffmpeg_camera(camera_simulator.url("h264"))
    counts = {"dropped": 0, "rtx": 0, "media": 0}

    async with webrtc_viewer(camera, audio=False) as client:
        answer = await client.offer()
        media_pt, rtx_pt = _video_payload_types(answer)
        assert rtx_pt is not None, answer
        ice = client.pc.getTransceivers()[0].receiver.transport.transport
        receive = ice._recv

        async def lossy_receive() -> bytes:
            while True:
                data: bytes = await receive()
                if not 128 <= data[0] < 192:  # not RTP/RTCP (STUN, DTLS)
                    return data
                payload_type = data[1] & 0x7F
                if payload_type == rtx_pt:
                    counts["rtx"] += 1
                elif payload_type == media_pt:
                    counts["media"] += 1
                    if counts["media"] % 10 == 0:
                        counts["dropped"] += 1
                        continue
                return data

        ice._recv = lossy_receive
        await client.wait_for_frames(video=90, timeout=30)

    assert counts["dropped"] >= 15, counts
    assert counts["rtx"] >= counts["dropped"] * 0.8, counts
    assert 20 < client.video.fps < 40, client.video


async def test_video_goes_through_aiortcs_own_send_loop_if_aiortc_moved(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A newer aiortc without an attribute the direct sender needs: the session falls back, the video still plays."""
    attributes = (*rtp_video._SENDER_ATTRIBUTES, "renamed_in_a_newer_aiortc")
    monkeypatch.setattr(rtp_video, "_SENDER_ATTRIBUTES", attributes)
    camera = await ffmpeg_camera(camera_simulator.url("h264"))
    for _ in range(2):
        async with webrtc_viewer(camera) as client:
            await client.offer()
            await client.wait_for_frames(video=30, timeout=30)
        assert 20 < client.video.fps < 40, client.video

    warnings = [r.getMessage() for r in caplog.records if "aiortc's own RTP send loop" in r.getMessage()]
    assert len(warnings) == 1  # once, not per session
    assert "renamed_in_a_newer_aiortc" in warnings[0]


async def test_video_only_camera_offers_no_audio(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264_main"))
    async with webrtc_viewer(camera) as client:
        answer = await client.offer()
        await client.wait_for_frames(video=30, timeout=30)

    assert "profile-level-id=4d" in answer  # Main profile negotiated as Main, not as baseline
    audio_section = answer.split("m=audio", 1)[1]
    assert "a=sendonly" not in audio_section  # nothing to send: the audio m-line is not active from our side
    assert client.audio.frames == 0


@pytest.mark.parametrize(("mount", "reason"), [("h265", "webrtc_h265"), ("h264_bframes", "B-frames")])
async def test_h265_and_bframes_cameras_are_not_offered_webrtc_by_default(
    hass: HomeAssistant,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    caplog: pytest.LogCaptureFixture,
    mount: str,
    reason: str,
) -> None:
    """Learned in the background when the camera registers, before anyone opened it: the frontend plays HLS (or
    falls back to its own picture) from the first open, instead of meeting a WebRTC error. H.265 is offered only
    with `webrtc_h265: true` (see ARCHITECTURE.md: a browser without H.265 would end on a still picture)."""
    camera = await ffmpeg_camera(camera_simulator.url(mount))

    assert camera.stream is None  # nobody opened the camera: a probe told
    assert webrtc_provider(camera) is None
    assert camera.camera_capabilities.frontend_stream_types == {"hls"}
    assert reason in caplog.text


async def test_an_offer_without_h265_for_an_h265_camera_is_answered_with_every_section_rejected(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    """With `webrtc_h265: true` H.265 cameras are offered WebRTC; a browser whose offer has no H.265 gets no error,
    which the frontend would show on the card, but an answer that leaves its connection with nothing to receive."""
    camera = await ffmpeg_camera(camera_simulator.url("h265"), stream_config={"webrtc_h265": True})
    assert camera.camera_capabilities.frontend_stream_types == {"hls", "web_rtc"}
    provider = webrtc_provider(camera)
    assert isinstance(provider, StreamWebRtcProvider)

    async with webrtc_viewer(camera) as client:  # aiortc offers H.264 (and no H.265)
        answer = await client.offer(apply_answer=False)
        sessions = provider.session_count
        errors = list(client.errors)

    assert [(media.kind, media.port) for media in SessionDescription.parse(answer).media] == [
        ("video", 0),
        ("audio", 0),
    ]
    assert sessions == 0
    assert errors == []


async def test_diagnostics_say_why_a_camera_is_not_offered_webrtc(
    hass: HomeAssistant, camera_simulator: CameraSimulator, ffmpeg_camera: FfmpegCameraFactory
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264_bframes"))
    stream: object = await camera.async_create_stream()  # typed as the built-in's; the takeover makes it ours
    assert isinstance(stream, Stream)
    await stream.start()
    try:
        assert await stream.live.wait_for_source(30) is not None
        await hass.async_block_till_done()  # the provider hears of the source
        refused = stream.get_diagnostics()["live"]["webrtc_refused"]
    finally:
        await stream.stop()

    assert "B-frames" in refused
