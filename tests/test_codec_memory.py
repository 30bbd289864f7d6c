"""Each camera's codecs known before anyone opens it: remembered across restarts, learned in the background.

The frontend decides between WebRTC and HLS from the camera's capabilities when the card opens, so whether WebRTC is
offered must not wait for a stream to have run; and a known camera's offer is answered without waiting for it.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.camera import Camera
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.stream.exceptions import StreamWorkerError
from custom_components.stream.outputs.webrtc import StreamWebRtcProvider
from custom_components.stream.remux.fmp4.parameter_sets import ParameterSets
from custom_components.stream.source.codec_memory import CodecLearner, CodecMemory, learner
from custom_components.stream.source.codec_memory.record import from_json, to_json
from custom_components.stream.source.codec_memory.store import SAVE_DELAY, STORAGE_KEY, STORAGE_VERSION, source_key
from custom_components.stream.source.description import AudioSource, SourceInfo, VideoSource
from tests.plugins.cameras import FfmpegCameraFactory, our_stream, webrtc_provider
from tests.plugins.simulator import CameraSimulatorFactory
from tests.plugins.webrtc import WebRtcViewerFactory
from tests.simulator import CameraSimulator
from tests.webrtc_client import SignallingError

HASH_KEY = "11" * 32
H264_HIGH = SourceInfo(
    run=0,
    video=VideoSource("h264", 640, 360, "64001e", ParameterSets((), (b"\x67\x64\x00\x1e",), (b"\x68\xee",))),
    audio=AudioSource("pcm_mulaw", 8000, 1),
    reordered=False,
    order_known=True,
)


def _storage_with(hass_storage: dict[str, Any], sources: dict[str, SourceInfo]) -> None:
    """What an earlier run of Home Assistant left in `.storage/stream.known_sources`."""
    hass_storage[STORAGE_KEY] = {
        "version": STORAGE_VERSION,
        "key": STORAGE_KEY,
        "data": {
            "hash_key": HASH_KEY,
            "sources": {
                source_key(bytes.fromhex(HASH_KEY), source): to_json(info, 0) for source, info in sources.items()
            },
        },
    }


async def _remembered_camera(hass_storage: dict[str, Any], ffmpeg_camera: FfmpegCameraFactory, source: str) -> Camera:
    """A camera that an earlier run saw send High profile H.264 with G.711: offered WebRTC from the start."""
    _storage_with(hass_storage, {source: H264_HIGH})
    camera = await ffmpeg_camera(source)
    assert isinstance(webrtc_provider(camera), StreamWebRtcProvider)
    return camera


async def _learner(hass: HomeAssistant, *, streaming: bool = False) -> tuple[CodecMemory, CodecLearner]:
    memory = CodecMemory(hass)
    await memory.async_load()
    return memory, CodecLearner(hass, memory, is_streaming=lambda source: streaming)


def _provider(hass: HomeAssistant) -> StreamWebRtcProvider:
    provider = hass.data["stream"]["webrtc_provider"]
    assert isinstance(provider, StreamWebRtcProvider)
    return provider


@pytest.fixture
async def silent_server(socket_enabled: None) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A TCP server that accepts and never answers; setting the event hangs up on every client."""
    hang_up = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hang_up.wait()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"rtsp://127.0.0.1:{port}/camera", hang_up
    hang_up.set()
    server.close()
    await server.wait_closed()


# -- what the file holds -------------------------------------------------------------------------------------------


def test_a_stored_entry_reads_back_as_it_was_written() -> None:
    info, seen = from_json(json.loads(json.dumps(to_json(H264_HIGH, 1234.0))))
    assert info == H264_HIGH
    assert seen == 1234.0


@pytest.mark.parametrize(
    "entry",
    [{}, {"video": {"codec": "vp8"}}, {"video": {"codec": "h264", "width": "wide"}}, {"seen": 1, "video": None}],
)
async def test_unreadable_entries_are_forgotten(
    hass: HomeAssistant, hass_storage: dict[str, Any], entry: object
) -> None:
    _storage_with(hass_storage, {})
    hass_storage[STORAGE_KEY]["data"]["sources"][source_key(bytes.fromhex(HASH_KEY), "rtsp://a")] = entry
    memory = CodecMemory(hass)
    await memory.async_load()
    assert memory.get("rtsp://a") is None


@pytest.mark.e2e
@pytest.mark.usefixtures("loopback_ice")
async def test_learned_codecs_are_stored_without_the_source_or_its_credentials(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    make_camera_simulator: CameraSimulatorFactory,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    simulator = make_camera_simulator(username="admin-user", password="s3cret-pass")
    camera = await ffmpeg_camera(simulator.url("h264"))

    # Nobody opened the camera, yet it is known (a short probe) and offered WebRTC.
    assert camera.stream is None
    assert isinstance(webrtc_provider(camera), StreamWebRtcProvider)
    assert camera.camera_capabilities.frontend_stream_types == {"hls", "web_rtc"}

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=SAVE_DELAY + 1))
    await hass.async_block_till_done()
    stored = json.dumps(hass_storage[STORAGE_KEY])
    for secret in ("admin-user", "s3cret-pass", "rtsp", str(simulator.port)):
        assert secret not in stored
    (entry,) = hass_storage[STORAGE_KEY]["data"]["sources"].values()
    assert entry["video"]["codec"] == "h264"
    assert entry["video"]["profile_level_id"].startswith("64")  # High profile, read from the SPS
    assert entry["reordered"] is False


# -- offered from what is remembered -------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.usefixtures("loopback_ice")
async def test_a_remembered_camera_is_answered_before_the_camera_answers(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    silent_server: tuple[str, asyncio.Event],
    ffmpeg_camera: FfmpegCameraFactory,
    webrtc_viewer: WebRtcViewerFactory,
) -> None:
    """Codecs from an earlier run: the offer is answered while the camera has not said a word (the stream starts
    alongside); when the camera then fails, the session ends with the stream's error."""
    source, hang_up = silent_server
    camera = await _remembered_camera(hass_storage, ffmpeg_camera, source)

    async with webrtc_viewer(camera) as client:
        connected = asyncio.Event()

        @client.pc.on("connectionstatechange")
        def on_state() -> None:
            if client.pc.connectionState == "connected":
                connected.set()

        answer = await client.offer()
        assert re.search("profile-level-id=(64|f4)", answer)  # as remembered: High (or a decoder of High)
        assert "PCMU/8000" in answer
        assert our_stream(camera).live.source is None  # the camera has not answered: nothing was waited for
        await connected.wait()
        hang_up.set()
        with pytest.raises(SignallingError) as ended:
            await client.wait_for_frames(video=1, timeout=30)

    assert ended.value.code == "webrtc_session_ended"


@pytest.mark.e2e
@pytest.mark.usefixtures("loopback_ice")
async def test_a_remembered_camera_plays_from_its_first_keyframe(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    webrtc_viewer: WebRtcViewerFactory,
) -> None:
    camera = await _remembered_camera(hass_storage, ffmpeg_camera, camera_simulator.url("h264_pcmu"))

    async with webrtc_viewer(camera) as client:
        await client.offer()
        await client.wait_for_frames(video=30, audio=25, timeout=30)

    assert client.video.width == 640


@pytest.mark.e2e
@pytest.mark.usefixtures("loopback_ice")
async def test_a_camera_switched_to_h265_stops_offering_webrtc_once_seen(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    webrtc_viewer: WebRtcViewerFactory,
) -> None:
    """Remembered as H.264, now H.265: the session answered from memory ends once the stream shows H.265, and the
    camera is no longer offered WebRTC (the next open plays HLS)."""
    source = camera_simulator.url("h265")
    camera = await _remembered_camera(hass_storage, ffmpeg_camera, source)

    async with webrtc_viewer(camera) as client:
        await client.offer()
        with pytest.raises(SignallingError) as ended:
            await client.wait_for_frames(video=1, timeout=30)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert "changed its codecs" in str(ended.value)
    known = _provider(hass).codec_memory.get(source)
    assert known is not None
    assert known.video.codec == "hevc"
    assert webrtc_provider(camera) is None
    assert camera.camera_capabilities.frontend_stream_types == {"hls"}


# -- learning in the background ------------------------------------------------------------------------------------


@pytest.mark.e2e
async def test_start_up_does_not_wait_for_a_camera_that_never_answers(
    hass: HomeAssistant, silent_server: tuple[str, asyncio.Event]
) -> None:
    source, hang_up = silent_server
    assert await async_setup_component(hass, "stream", {"stream": {}})
    assert await async_setup_component(hass, "ffmpeg", {"ffmpeg": {}})
    camera_config = {"platform": "ffmpeg", "name": "silent", "input": f"-i {source}"}
    assert await async_setup_component(hass, "camera", {"camera": [camera_config]})
    await hass.async_block_till_done()  # what start-up waits for: not the background probe

    assert _provider(hass).codec_learner.learning == {source}
    hang_up.set()
    await hass.async_block_till_done(wait_background_tasks=True)
    camera = hass.data["camera"].get_entity("camera.silent")
    assert webrtc_provider(camera) is None  # still unknown: HLS until the camera is seen
    assert not _provider(hass).codec_learner.learning


class _BlockingProbe:
    """Stands in for the probe (the learner is under test): counts probes running at once until released."""

    def __init__(self, fail: bool = False) -> None:
        self.running = 0
        self.most_at_once = 0
        self.calls = 0
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._fail = fail

    def __call__(self, source: str, options: dict[str, str], stop: threading.Event) -> SourceInfo:
        with self._lock:
            self.calls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.release.wait(10)
        with self._lock:
            self.running -= 1
        if self._fail:
            raise StreamWorkerError("Error opening stream")
        return H264_HIGH


@pytest.fixture
def blocking_probe(monkeypatch: pytest.MonkeyPatch) -> Iterator[_BlockingProbe]:
    probe = _BlockingProbe()
    monkeypatch.setattr(learner, "probe_source", probe)
    yield probe
    probe.release.set()


async def test_at_most_two_sources_are_probed_at_once(hass: HomeAssistant, blocking_probe: _BlockingProbe) -> None:
    memory, codec_learner = await _learner(hass)
    sources = [f"rtsp://camera-{n}/stream" for n in range(5)]
    for source in sources:
        codec_learner.learn(source)
        codec_learner.learn(source)  # asked twice (two cameras, one source): probed once

    blocking_probe.release.set()
    await hass.async_block_till_done(wait_background_tasks=True)

    assert blocking_probe.calls == 5
    assert blocking_probe.most_at_once == 2
    assert all(memory.get(source) == H264_HIGH for source in sources)


async def test_a_source_that_failed_is_not_probed_again_at_once(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = _BlockingProbe(fail=True)
    probe.release.set()
    monkeypatch.setattr(learner, "probe_source", probe)
    memory, codec_learner = await _learner(hass)

    for _ in range(3):
        codec_learner.learn("rtsp://offline/stream")
        await hass.async_block_till_done(wait_background_tasks=True)

    assert probe.calls == 1
    assert memory.get("rtsp://offline/stream") is None


async def test_a_source_being_streamed_is_not_probed(hass: HomeAssistant, blocking_probe: _BlockingProbe) -> None:
    """Its worker reports the codecs: no second connection to the camera."""
    _, codec_learner = await _learner(hass, streaming=True)
    codec_learner.learn("rtsp://camera/stream")
    await hass.async_block_till_done(wait_background_tasks=True)
    assert blocking_probe.calls == 0


@pytest.mark.e2e
async def test_the_probe_reads_what_the_worker_would_report(
    hass: HomeAssistant, camera_simulator: CameraSimulator
) -> None:
    """The real probe against the simulator: codec, size, profile, parameter sets, frame order, audio."""
    memory, codec_learner = await _learner(hass)
    expected = {
        "h264_aac": ("h264", "64", False, "aac"),
        "h264_bframes": ("h264", "64", True, None),
        "h265": ("hevc", None, False, None),
    }
    for mount in expected:
        codec_learner.learn(camera_simulator.url(mount))
    await hass.async_block_till_done(wait_background_tasks=True)

    for mount, (codec, profile, reordered, audio) in expected.items():
        info = memory.get(camera_simulator.url(mount))
        assert info is not None, mount
        assert info.video.codec == codec
        assert (info.video.profile_level_id or "")[:2] == (profile or "")
        assert info.video.parameter_sets is not None
        assert info.video.parameter_sets.complete("hevc" if codec == "hevc" else "h264")
        assert info.reordered is reordered
        assert (info.audio.codec if info.audio else None) == audio
