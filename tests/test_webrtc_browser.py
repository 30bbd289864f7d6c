"""Headless Chromium plays a camera over WebRTC, signalled through Home Assistant's websocket API like its frontend.

The page (tests/assets/webrtc_player.html + .js) authenticates with an access token, asks for the camera's client
configuration, offers recvonly audio + video, trickles its candidates (and end-of-candidates) and plays the answer in
a <video>. Our aiortc side offers loopback host candidates (`loopback_ice`); Chromium offers its own on loopback
thanks to the flags in tests/browser_harness.py.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from playwright.async_api import BrowserContext, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.stream.outputs.webrtc import StreamWebRtcProvider
from tests.browser_harness import StaticServer
from tests.plugins.cameras import FfmpegCameraFactory, our_stream
from tests.simulator import CameraSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("loopback_ice")]

PLAYER_PAGE = "webrtc_player.html"
ANSWER_TIMEOUT_S = 30.0
FIRST_FRAME_TIMEOUT_S = 20.0
PLAY_SECONDS = 3.0
STATS_POLL_S = 0.25
# The simulator sends 30 fps; a third of that over the window is sustained playback even on a loaded 2-core machine.
MIN_FPS = 10
# profile_idc (hex) of the H.264 profiles whose decoders decode a High profile stream: High, High 4:4:4 Predictive.
HIGH_DECODER_PROFILES = ("64", "f4")


@dataclass
class StatsSample:
    at: float
    frames_decoded: int
    raw: dict[str, Any]


class WebRtcPage:
    """Drives tests/assets/webrtc_player.js in a page; collects console errors for failure messages."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    async def open(self, asset_server: StaticServer) -> None:
        await self.page.goto(asset_server.url(PLAYER_PAGE))
        await self.page.wait_for_function("() => window.webrtcPlayer !== undefined", timeout=10_000)

    async def start(self, ws_url: str, access_token: str, entity_id: str) -> None:
        await self.page.evaluate(
            "(options) => window.webrtcPlayer.start(options)",
            {"wsUrl": ws_url, "accessToken": access_token, "entityId": entity_id},
        )

    async def snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = await self.page.evaluate("() => window.webrtcPlayer.snapshot()")
        return snapshot

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self.page.evaluate("() => window.webrtcPlayer.stats()")
        return stats

    async def wait_for_answer(self, timeout_s: float) -> dict[str, Any]:
        try:
            await self.page.wait_for_function(
                "() => { const p = window.webrtcPlayer.snapshot(); return p.answerSdp !== null || p.errors.length; }",
                timeout=timeout_s * 1000,
                polling=50,
            )
        except PlaywrightTimeoutError:
            raise AssertionError(f"no answer within {timeout_s} s: {await self.describe()}") from None
        snapshot = await self.snapshot()
        assert not snapshot["errors"], await self.describe()
        return snapshot

    async def wait_for_frames(self, minimum: int, timeout_s: float) -> StatsSample:
        """Poll getStats until inbound video has decoded at least `minimum` frames."""
        deadline = time.monotonic() + timeout_s
        while True:
            sample = await self.sample()
            if sample.frames_decoded >= minimum:
                return sample
            if time.monotonic() > deadline:
                raise AssertionError(f"{sample.frames_decoded} frames decoded after {timeout_s} s: {sample.raw}")
            await asyncio.sleep(STATS_POLL_S)

    async def sample(self) -> StatsSample:
        stats = await self.stats()
        video = stats["video"] or {}
        return StatsSample(time.monotonic(), int(video.get("framesDecoded", 0)), stats)

    async def describe(self) -> str:
        snapshot = await self.snapshot()
        summary = {key: snapshot[key] for key in ("errors", "sessionId", "candidatesSent", "connectionStates")}
        return f"{summary}\nbrowser console:\n" + "\n".join(self.console[-20:])


def fmtp(line: str | None) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in (line or "").split(";") if "=" in item)
    return {key.strip(): value.strip() for key, value in pairs}


def sdp_video_codec(sdp: str, payload_type: int) -> dict[str, str]:
    """The rtpmap and fmtp lines of one payload type in an SDP's video section."""
    video = sdp.split("m=video", 1)[1].split("m=", 1)[0]
    found = {"rtpmap": "", "fmtp": ""}
    for line in video.splitlines():
        for key in found:
            if line.startswith(f"a={key}:{payload_type} "):
                found[key] = line.split(" ", 1)[1]
    return found


def sdp_candidate_types(sdp: str) -> list[str]:
    return [line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if line.startswith("a=candidate:")]


async def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("warm", [False, True], ids=["cold-camera", "camera-already-streaming"])
async def test_chromium_plays_high_profile_h264_over_webrtc(
    warm: bool,
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_access_token: str,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    asset_server: StaticServer,
    browser_context: BrowserContext,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h264_aac"))
    assert await async_setup_component(hass, "websocket_api", {})
    http = await hass_client()
    ws_url = str(http.make_url("/api/websocket")).replace("http://", "ws://", 1)
    provider: StreamWebRtcProvider = hass.data["stream"]["webrtc_provider"]
    assert camera.webrtc_provider is provider
    if warm:  # HLS already plays it: the session joins the running worker and starts from its last keyframe
        stream = await camera.async_create_stream()
        assert stream is not None
        stream.add_provider("hls")
        await stream.start()
        assert await our_stream(camera).live.wait_for_source(20) is not None  # ready: a keyframe went by

    # Chromium offers its real host addresses only to a page with camera or microphone permission (otherwise only
    # the default route's, and the private loopback has no route), as for a Home Assistant user who granted it.
    await browser_context.grant_permissions(["camera", "microphone"], origin=asset_server.base_url)
    page = await browser_context.new_page()
    player = WebRtcPage(page)
    await player.open(asset_server)
    await player.start(ws_url, hass_access_token, camera.entity_id)
    signalled = await player.wait_for_answer(ANSWER_TIMEOUT_S)
    assert provider.session_count == 1
    # Joining a running camera, the first frame is its last keyframe, then the picture holds until the next one.
    first = await player.wait_for_frames(2 if warm else 1, FIRST_FRAME_TIMEOUT_S)

    # Playing: framesDecoded goes up between every poll and by at least MIN_FPS a second over PLAY_SECONDS.
    samples = [first]
    while samples[-1].at - first.at < PLAY_SECONDS:
        await asyncio.sleep(0.5)
        samples.append(await player.sample())
    last = samples[-1]
    snapshot = await player.snapshot()
    answer_s = (signalled["answerAt"] - signalled["offerSentAt"]) / 1000
    latencies = snapshot["latencySamples"]
    print(
        f"answer {answer_s:.3f} s, frames decoded {[s.frames_decoded for s in samples]} over "
        f"{last.at - first.at:.2f} s, presented {snapshot['framesPresented']}, pair {last.raw['pair']}, "
        f"video {last.raw['video']}, audio {last.raw['audio']}, "
        f"browser candidates {len(snapshot['localCandidates'])}, "
        f"answer candidates {sdp_candidate_types(signalled['answerSdp'])}, "
        f"glass-to-glass ms (since first frame, latency) {latencies[:: max(1, len(latencies) // 12)]}"
    )
    counts = [sample.frames_decoded for sample in samples]
    assert all(later > earlier for earlier, later in itertools.pairwise(counts)), counts
    assert last.frames_decoded - first.frames_decoded >= MIN_FPS * (last.at - first.at), counts
    assert snapshot["framesPresented"] > 0  # requestVideoFrameCallback: frames reached the <video>
    # The simulator's timecode survived: the frames shown read as recent wall-clock times.
    assert len(latencies) > snapshot["framesPresented"] // 2, snapshot["timecodeError"]
    assert (snapshot["videoWidth"], snapshot["videoHeight"]) == (640, 360)
    assert not snapshot["errors"], await player.describe()

    # The camera's High profile stream went through as it is (no re-encoding), under a profile Chromium offered
    # whose decoders decode High. Without hardware decoding Chromium offers no High (64) at all, only Baseline,
    # Constrained Baseline, Main and High 4:4:4 Predictive (f4, numbered below 96), so f4 is what it negotiates here.
    source = our_stream(camera).live.source
    assert source is not None
    assert source.video.profile_level_id is not None
    assert source.video.profile_level_id.startswith("64"), source.video
    video = last.raw["video"]
    assert video["mimeType"] == "video/H264", video
    assert fmtp(video["sdpFmtpLine"])["profile-level-id"].lower()[:2] in HIGH_DECODER_PROFILES, video
    answered = sdp_video_codec(signalled["answerSdp"], video["payloadType"])
    assert answered["rtpmap"] == "H264/90000", answered
    assert fmtp(answered["fmtp"])["profile-level-id"][:2] in HIGH_DECODER_PROFILES, answered
    assert (video["frameWidth"], video["frameHeight"]) == (640, 360)
    # AAC from the camera arrives as Opus on the audio transceiver (the first m-line, as the frontend orders them).
    audio = last.raw["audio"]
    assert audio is not None, last.raw
    assert audio["mimeType"] == "audio/opus", audio
    assert audio["packetsReceived"] > 0, audio
    assert sorted(snapshot["trackKinds"]) == ["audio", "video"]

    # Signalling was the frontend's: trickled candidates, then end-of-candidates; loopback host candidates met.
    assert snapshot["candidatesSent"] > 0
    assert snapshot["endOfCandidatesSent"]
    assert snapshot["clientConfiguration"]["configuration"]["iceServers"], snapshot["clientConfiguration"]
    pair = last.raw["pair"]
    assert pair is not None, last.raw
    assert pair["state"] == "succeeded", pair
    assert pair["local"]["address"] == "127.0.0.1", pair
    assert pair["remote"]["address"] == "127.0.0.1", pair

    # Closing the page closes the websocket, which unsubscribes and ends our session.
    await page.close()
    await wait_until(lambda: provider.session_count == 0, 10, "the session to end after the page closed")
