"""H.265 over WebRTC to a receiver nobody on the project wrote: GStreamer's webrtcbin (tests/webrtcbin_client.py),
signalled through Home Assistant's websocket flow, answered by our provider from the H.265 simulator camera.

libnice (webrtcbin's ICE) gathers nothing on loopback and skips interfaces named veth*, so the test gives the
private network namespace `scripts/test` runs in a veth pair of its own (never the host's network), with one
address on one end on which both the client and Home Assistant's aioice gather (with the client on the other end's
address, aioice never received libnice's checks nor their answers).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aioice.ice
import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.stream.outputs.webrtc.rtp_video import DirectVideoSender
from tests.plugins.cameras import FfmpegCameraFactory, webrtc_provider
from tests.plugins.simulator import STANDARD_MOUNTS
from tests.simulator import CameraSimulator
from tests.webrtc_client import SignallingChannel, SignallingError

pytestmark = [pytest.mark.e2e]

OUR_ADDRESS = CLIENT_ADDRESS = "10.78.0.1"
PREFIX = 24
LINK = ("rtc-ha", "rtc-client")  # not veth*: libnice ignores those
PROJECT_DIR = Path(__file__).resolve().parents[1]
SOURCE = STANDARD_MOUNTS["h265"]
H265_ON = {"webrtc_h265": True}  # off by default (ARCHITECTURE.md, "H.265 over WebRTC")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def webrtcbin_network(monkeypatch: pytest.MonkeyPatch, socket_enabled: None) -> Iterator[None]:
    """A veth pair in the test's private network namespace; aioice gathers on its address only."""
    ours, theirs = LINK
    _ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
    try:
        _ip("address", "add", f"{OUR_ADDRESS}/{PREFIX}", "dev", ours)
        _ip("link", "set", ours, "up")
        _ip("link", "set", theirs, "up")
        monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: [OUR_ADDRESS])
        yield
    finally:
        _ip("link", "delete", ours)


class WebrtcbinClient:
    """The webrtcbin process and the websocket subscription its offer opened."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stats: dict[str, Any] = {}
        self.answer = ""

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise AssertionError("the webrtcbin client exited")
        message: dict[str, Any] = json.loads(line)
        return message

    async def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        await self.process.stdin.drain()

    async def connect(self, channel: SignallingChannel, entity_id: str) -> None:
        offer = (await self._read())["offer"]
        queue = await channel.command({"type": "camera/webrtc/offer", "entity_id": entity_id, "offer": offer})
        result = await asyncio.wait_for(queue.get(), 20)
        assert result["success"], result
        while (event := (await asyncio.wait_for(queue.get(), 20))["event"])["type"] != "answer":
            if event["type"] == "error":
                raise SignallingError(event["code"], event["message"])
        self.answer = event["answer"]
        await self._write({"answer": self.answer})

    async def wait_for_frames(self, frames: int, timeout: float, audio_frames: int = 0) -> dict[str, Any]:
        try:
            async with asyncio.timeout(timeout):
                while self.stats.get("frames", 0) < frames or self.stats.get("audio_frames", 0) < audio_frames:
                    self.stats = (await self._read())["stats"]
        except TimeoutError:
            raise AssertionError(f"not {frames} frames and {audio_frames} audio frames: {self.stats}") from None
        return self.stats


@contextlib.asynccontextmanager
async def webrtcbin_client(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, entity_id: str, *options: str
) -> AsyncIterator[WebrtcbinClient]:
    ws = await hass_ws_client(hass)
    channel = SignallingChannel.channel_for(ws.send_json, ws.receive_json)
    channel.acquire()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.webrtcbin_client",
        CLIENT_ADDRESS,
        *options,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=PROJECT_DIR,
    )
    client = WebrtcbinClient(process)
    try:
        await client.connect(channel, entity_id)
        yield client
    finally:
        with contextlib.suppress(ConnectionError):
            await client._write({"stop": True})
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
        await channel.release()


def _assert_plays_the_source(stats: dict[str, Any]) -> None:
    assert stats["problems"] == []
    assert (stats["width"], stats["height"]) == (SOURCE.width, SOURCE.height)
    fps = (stats["frames"] - 1) / (stats["last_at"] - stats["first_at"])
    assert SOURCE.fps * 0.6 < fps < SOURCE.fps * 1.5, stats


async def test_webrtcbin_decodes_the_h265_camera(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    webrtcbin_network: None,
) -> None:
    camera = await ffmpeg_camera(camera_simulator.url("h265"), stream_config=H265_ON)
    assert webrtc_provider(camera) is not None  # learned in the background: H.265 without B-frames is offered
    assert "web_rtc" in camera.camera_capabilities.frontend_stream_types

    async with webrtcbin_client(hass, hass_ws_client, camera.entity_id) as client:
        stats = await client.wait_for_frames(SOURCE.fps * 4, timeout=40)

    assert "a=rtpmap:96 H265/90000" in client.answer
    assert "profile-id=1;tier-flag=0;level-id=" in client.answer
    assert "sprop-vps=" in client.answer
    _assert_plays_the_source(stats)


async def test_every_20th_packet_lost_comes_back_through_nack_and_rtx(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    webrtcbin_network: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Our sender drops every 20th video packet it first sends; webrtcbin's NACKs bring each back as RTX."""
    counts = {"media": 0, "dropped": 0, "rtx": 0}
    send = DirectVideoSender._send

    def lossy_send(sender: DirectVideoSender, packets: list[bytes]) -> None:
        kept = []
        for packet in packets:
            payload_type = packet[1] & 0x7F
            if payload_type == sender._payload_type:
                counts["media"] += 1
                if counts["media"] % 20 == 0:
                    counts["dropped"] += 1
                    continue
            elif payload_type == sender._rtx_payload_type:
                counts["rtx"] += 1
            kept.append(packet)
        send(sender, kept)

    monkeypatch.setattr(DirectVideoSender, "_send", lossy_send)
    camera = await ffmpeg_camera(camera_simulator.url("h265"), stream_config=H265_ON)

    async with webrtcbin_client(hass, hass_ws_client, camera.entity_id) as client:
        stats = await client.wait_for_frames(SOURCE.fps * 10, timeout=60)

    assert counts["dropped"] >= 10, counts
    assert counts["rtx"] >= counts["dropped"] * 0.8, counts
    _assert_plays_the_source(stats)


async def test_h265_with_audio_plays_with_the_cameras_aac_as_opus(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    webrtcbin_network: None,
) -> None:
    """Audio as for H.264 sessions (issue 17 req. 4): the camera's AAC, transcoded to Opus once per camera."""
    camera = await ffmpeg_camera(camera_simulator.url("h265_aac"), stream_config=H265_ON)

    async with webrtcbin_client(hass, hass_ws_client, camera.entity_id, "audio") as client:
        stats = await client.wait_for_frames(SOURCE.fps * 3, timeout=40, audio_frames=50)

    assert "opus/48000/2" in client.answer.lower()
    _assert_plays_the_source(stats)
