"""`Stream.async_record` against the real RTSP camera simulator, checked with ffprobe; and its refusals."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import av
import pytest
from homeassistant.components.camera import Camera
from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.components.stream import Orientation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import setup_test_component_platform
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.stream import Stream
from custom_components.stream.const import DOMAIN, HLS_PROVIDER, RECORDER_PROVIDER
from custom_components.stream.outputs.recorder import record as recorder
from tests.simulator import CameraSimulator, CameraSpec
from tests.simulator.spec import AudioCodec

pytestmark = pytest.mark.usefixtures("enable_custom_integrations", "socket_enabled")

WAIT = 20.0  # generous bound for media to show up on a loaded 2-core machine
KEYFRAME_INTERVAL = 1.0  # of every simulator mount used here
DURATION = 2
LOOKBACK = 1
SLACK = 0.01  # rounding of timestamps to the track timescales, ffprobe's printing
# The file ends with the first frame at or after `duration`, which lasts a frame (the slowest mount runs at 15 fps).
LAST_FRAME = 1 / 15
# The audio track may end a frame (128 ms of AAC at 8 kHz) from the video's end, and begin up to a frame after it.
AUDIO_SLACK = 0.2


def ffprobe(path: Path, *args: str) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def probe_streams(path: Path) -> list[dict[str, Any]]:
    streams: list[dict[str, Any]] = ffprobe(path, "-show_streams")["streams"]
    return streams


def video_packets(path: Path) -> list[dict[str, Any]]:
    packets: list[dict[str, Any]] = ffprobe(
        path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,dts_time,duration_time,flags", "-show_packets"
    )["packets"]
    return packets


def assert_plays_from_a_keyframe_with_monotonic_timestamps(path: Path) -> None:
    for stream_index in ("v:0", "a:0"):
        packets = ffprobe(path, "-select_streams", stream_index, "-show_entries", "packet=dts", "-show_packets")
        dts = [packet["dts"] for packet in packets["packets"]]
        assert dts == sorted(set(dts)), f"{stream_index} decode timestamps are not strictly increasing"
    assert video_packets(path)[0]["flags"].startswith("K")


def video_duration(path: Path) -> float:
    """Seconds from the first video frame's presentation to the end of the last."""
    packets = video_packets(path)
    start = min(float(packet["pts_time"]) for packet in packets)
    return max(float(packet["pts_time"]) + float(packet["duration_time"]) for packet in packets) - start


def audio_duration(path: Path) -> float:
    """Seconds from the first audio frame to the end of the last."""
    packets = ffprobe(path, "-select_streams", "a:0", "-show_entries", "packet=pts_time,duration_time", "-show_packets")
    times = [(float(p["pts_time"]), float(p["duration_time"])) for p in packets["packets"]]
    return max(start + length for start, length in times) - min(start for start, _ in times)


async def wait_for_buffered(stream: Stream, seconds: float) -> None:
    """Start `stream` (HLS output) and wait until it has buffered `seconds` of media."""
    stream.add_provider(HLS_PROVIDER)
    await stream.start()
    buffer = stream.buffer
    assert await buffer.wait_until(lambda: sum(s.duration for s in buffer.segments) >= seconds, WAIT)


def leftovers(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())


# -- recordings from the simulator ------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("mount", "video_codec", "audio_codec"),
    [
        ("h264_aac", "h264", "aac"),
        ("h265", "hevc", None),
        ("h264", "h264", None),
        # G.711 and Opus are transcoded to AAC by the worker.
        ("h264_pcmu", "h264", "aac"),
        ("h264_pcma", "h264", "aac"),
        ("h264_opus", "h264", "aac"),
    ],
)
async def test_record_with_lookback(
    stream_factory: Callable[..., Stream],
    camera_simulator: CameraSimulator,
    recordings: Path,
    mount: str,
    video_codec: str,
    audio_codec: str | None,
) -> None:
    stream = stream_factory(camera_simulator.url(mount))
    await wait_for_buffered(stream, LOOKBACK + 1.5)
    path = recordings / f"{mount}.mp4"

    await stream.async_record(str(path), duration=DURATION, lookback=LOOKBACK)

    assert leftovers(recordings) == [path]  # no temporary file left
    streams = probe_streams(path)
    assert [(s["codec_type"], s["codec_name"]) for s in streams] == [("video", video_codec)] + (
        [("audio", audio_codec)] if audio_codec else []
    )
    # It starts on the keyframe at or before the lookback point and ends `duration` after the call.
    duration = video_duration(path)
    assert DURATION + LOOKBACK - SLACK <= duration <= DURATION + LOOKBACK + KEYFRAME_INTERVAL + LAST_FRAME + SLACK
    assert_plays_from_a_keyframe_with_monotonic_timestamps(path)
    assert float(video_packets(path)[0]["dts_time"]) < 0.1  # re-timed to start at zero
    if audio_codec:
        assert audio_duration(path) == pytest.approx(duration, abs=AUDIO_SLACK)
    assert RECORDER_PROVIDER not in stream.outputs()


@pytest.mark.e2e
async def test_record_from_cold_start_without_lookback(
    stream_factory: Callable[..., Stream], camera_simulator: CameraSimulator, recordings: Path
) -> None:
    stream = stream_factory(camera_simulator.url("h264_aac"))
    path = recordings / "cold.mp4"

    await stream.async_record(str(path), duration=DURATION, lookback=0)

    assert DURATION - SLACK <= video_duration(path) <= DURATION + LAST_FRAME + SLACK
    assert_plays_from_a_keyframe_with_monotonic_timestamps(path)
    assert not stream.outputs()  # the recorder was the only output: the stream stopped with it


@pytest.mark.e2e
async def test_record_applies_orientation(
    stream_factory: Callable[..., Stream], camera_simulator: CameraSimulator, recordings: Path
) -> None:
    stream = stream_factory(camera_simulator.url("h264"), orientation=Orientation.ROTATE_LEFT)
    path = recordings / "rotated.mp4"

    await stream.async_record(str(path), duration=1, lookback=0)

    side_data = probe_streams(path)[0]["side_data_list"]
    matrix = next(item for item in side_data if item["side_data_type"] == "Display Matrix")
    assert matrix["rotation"] == 90  # EXIF 6 "rotate left": a quarter turn counterclockwise, as the built-in


@pytest.mark.e2e
@pytest.mark.parametrize("audio", ["aac", "pcmu"])
async def test_record_survives_a_worker_restart(
    stream_factory: Callable[..., Stream],
    make_camera_simulator: Callable[..., CameraSimulator],
    recordings: Path,
    audio: AudioCodec,
) -> None:
    """With transcoded audio (PCMU) too: the new run's fresh encoder adds no audio of the old run (the audio
    timestamps keep increasing across the restart)."""
    camera = make_camera_simulator({"cam": CameraSpec(width=320, height=240, fps=15, audio=audio)})
    stream = stream_factory(camera.url("cam"))
    await wait_for_buffered(stream, 0.5)
    first_run = stream.buffer.segments[-1].discontinuity
    path = recordings / "restart.mp4"
    duration = 4

    recording = asyncio.create_task(stream.async_record(str(path), duration=duration, lookback=0))
    await camera.async_restart()  # the worker loses the camera, backs off and reconnects
    await recording

    assert stream.buffer.segments[-1].discontinuity > first_run  # the recording ran across the restart
    assert duration - SLACK <= video_duration(path) <= duration + KEYFRAME_INTERVAL + LAST_FRAME + SLACK
    assert_plays_from_a_keyframe_with_monotonic_timestamps(path)
    assert audio_duration(path) == pytest.approx(video_duration(path), abs=AUDIO_SLACK)


@pytest.mark.e2e
async def test_record_ends_where_the_stream_format_changes(
    stream_factory: Callable[..., Stream],
    make_camera_simulator: Callable[..., CameraSimulator],
    recordings: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    camera = make_camera_simulator({"cam": CameraSpec(width=320, height=240, fps=15)})
    stream = stream_factory(camera.url("cam"))
    await wait_for_buffered(stream, 0.5)
    path = recordings / "changed.mp4"

    recording = asyncio.create_task(stream.async_record(str(path), duration=30, lookback=0))
    await camera.async_stop()
    # The camera comes back on the same port with another resolution: a new init segment.
    make_camera_simulator({"cam": CameraSpec(width=256, height=144, fps=15)}, port=camera.port)
    await recording

    assert "the stream's format changed" in caplog.text
    assert [(s["width"], s["height"]) for s in probe_streams(path)] == [(320, 240)]
    assert video_duration(path) < 30
    assert_plays_from_a_keyframe_with_monotonic_timestamps(path)


@pytest.mark.e2e
async def test_record_of_a_stalled_stream_keeps_what_it_has(
    stream_factory: Callable[..., Stream],
    make_camera_simulator: Callable[..., CameraSimulator],
    recordings: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recorder, "RECORDER_STALL_TIMEOUT", 1)
    camera = make_camera_simulator({"cam": CameraSpec(width=320, height=240, fps=15)})
    stream = stream_factory(camera.url("cam"))
    await wait_for_buffered(stream, 0.5)
    path = recordings / "stalled.mp4"

    recording = asyncio.create_task(stream.async_record(str(path), duration=30, lookback=0))
    await camera.async_stop()  # gone for good: the worker keeps retrying, nothing arrives
    await recording

    assert "the stream sent nothing for 1 seconds" in caplog.text
    assert 0 < video_duration(path) < 30
    assert leftovers(recordings) == [path]


@pytest.mark.e2e
async def test_cancelled_recording_leaves_no_file(
    stream_factory: Callable[..., Stream], camera_simulator: CameraSimulator, recordings: Path
) -> None:
    stream = stream_factory(camera_simulator.url("h264"))
    recording = asyncio.create_task(stream.async_record(str(recordings / "cancelled.mp4"), duration=30))
    assert await stream.buffer.wait_until(lambda: RECORDER_PROVIDER in stream.outputs(), WAIT)

    recording.cancel()
    with pytest.raises(asyncio.CancelledError):
        await recording

    assert leftovers(recordings) == []
    assert not stream.outputs()


# -- refusals ---------------------------------------------------------------------------------------------------


def assert_refusal(err: ServiceValidationError, key: str, placeholders: dict[str, str]) -> None:
    """A user error of the record service, translated like the built-in's (strings.json "exceptions")."""
    assert (err.translation_domain, err.translation_key) == ("stream", key)
    assert err.translation_placeholders == placeholders


async def test_refuses_a_path_home_assistant_may_not_write(
    stream_factory: Callable[..., Stream], recordings: Path, tmp_path: Path
) -> None:
    stream = stream_factory("rtsp://127.0.0.1:9/none")
    path = tmp_path / "elsewhere.mp4"

    with pytest.raises(ServiceValidationError) as refusal:
        await stream.async_record(str(path), duration=DURATION)

    assert_refusal(refusal.value, "path_not_allowed", {"filename": str(path)})
    assert str(refusal.value) == (
        f"Cannot write to {path} because access to this path is not allowed. "
        "`allowlist_external_dirs` may need to be adjusted in `configuration.yaml`"
    )

    assert leftovers(tmp_path) == []
    assert not stream.outputs()


async def test_refuses_a_directory_that_does_not_exist(stream_factory: Callable[..., Stream], recordings: Path) -> None:
    stream = stream_factory("rtsp://127.0.0.1:9/none")
    path = recordings / "missing" / "clip.mp4"

    with pytest.raises(ServiceValidationError) as refusal:
        await stream.async_record(str(path), duration=DURATION)

    assert_refusal(refusal.value, "directory_missing", {"filename": str(path), "directory": str(path.parent)})
    assert str(refusal.value) == f"Cannot write to {path} because the directory {path.parent} does not exist"

    assert not (recordings / "missing").exists()
    assert not stream.outputs()


async def test_refuses_a_path_that_is_a_directory(stream_factory: Callable[..., Stream], recordings: Path) -> None:
    stream = stream_factory("rtsp://127.0.0.1:9/none")
    path = recordings / "clips"
    path.mkdir()

    with pytest.raises(ServiceValidationError) as refusal:
        await stream.async_record(str(path), duration=DURATION)

    assert_refusal(refusal.value, "path_is_directory", {"filename": str(path)})
    assert str(refusal.value) == f"Cannot write to {path} because it is a directory"
    assert path.is_dir()
    assert leftovers(recordings) == []
    assert not stream.outputs()


@pytest.mark.parametrize("duration", [0, -5])
async def test_refuses_a_duration_that_is_not_positive(
    stream_factory: Callable[..., Stream], recordings: Path, duration: int
) -> None:
    stream = stream_factory("rtsp://127.0.0.1:9/none")

    path = recordings / "clip.mp4"
    with pytest.raises(ServiceValidationError) as refusal:
        await stream.async_record(str(path), duration=duration)

    assert_refusal(refusal.value, "duration_not_positive", {"filename": str(path), "duration": str(duration)})
    assert str(refusal.value) == f"Cannot record to {path}: the duration must be more than 0 seconds, not {duration}"

    assert leftovers(recordings) == []
    assert not stream.outputs()


@pytest.mark.e2e
async def test_refuses_a_second_recording_of_the_same_stream(
    stream_factory: Callable[..., Stream], camera_simulator: CameraSimulator, recordings: Path
) -> None:
    stream = stream_factory(camera_simulator.url("h264"))
    first = recordings / "first.mp4"
    recording = asyncio.create_task(stream.async_record(str(first), duration=DURATION, lookback=0))
    # The recording starts the stream; at its first part it is registered and far from its duration.
    assert await stream.buffer.wait_until(lambda: RECORDER_PROVIDER in stream.outputs(), WAIT)

    with pytest.raises(ServiceValidationError) as refusal:
        await stream.async_record(str(recordings / "second.mp4"), duration=1)
    assert_refusal(refusal.value, "already_recording", {"filename": str(first)})
    assert str(refusal.value) == f"The stream is already recording to {first}"

    await recording
    assert leftovers(recordings) == [first]


@pytest.mark.e2e
async def test_nothing_captured_leaves_no_file(
    stream_factory: Callable[..., Stream],
    camera_simulator: CameraSimulator,
    recordings: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = stream_factory(f"rtsp://127.0.0.1:{camera_simulator.port}/no_such_mount")
    unavailable = asyncio.Event()
    stream.set_update_callback(unavailable.set)
    path = recordings / "nothing.mp4"
    recording = asyncio.create_task(stream.async_record(str(path), duration=DURATION))

    async with asyncio.timeout(WAIT):
        await unavailable.wait()  # the worker tried and failed: nothing will come
    await stream.stop()
    await recording

    assert leftovers(recordings) == []
    assert f"Recording to {path} captured nothing: the stream stopped" in caplog.text


# -- through Home Assistant's camera integration ----------------------------------------------------------------


class SimulatedCamera(Camera):
    """A camera whose stream is the simulator and whose stills come from the stream."""

    _attr_name = "Simulated"
    _attr_supported_features = CameraEntityFeature.STREAM

    def __init__(self, source: str) -> None:
        super().__init__()
        self._source = source

    @property
    def use_stream_for_stills(self) -> bool:
        return True

    async def stream_source(self) -> str:
        return self._source

    async def async_camera_image(self, width: int | None = None, height: int | None = None) -> bytes | None:
        return None  # never used: stills come from the stream


@pytest.mark.e2e
async def test_camera_services_run_through_our_stream(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    camera_simulator: CameraSimulator,
    recordings: Path,
) -> None:
    entity = SimulatedCamera(camera_simulator.url("h264_aac"))
    setup_test_component_platform(hass, CAMERA_DOMAIN, [entity])
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    assert await async_setup_component(hass, CAMERA_DOMAIN, {CAMERA_DOMAIN: {"platform": "test"}})
    await hass.async_block_till_done()
    video = recordings / "service.mp4"
    still = recordings / "service.jpg"

    try:
        await hass.services.async_call(
            CAMERA_DOMAIN,
            "record",
            {"entity_id": entity.entity_id, "filename": str(video), "duration": DURATION, "lookback": 0},
            blocking=True,
        )
        stream: object = entity.stream
        assert type(stream) is Stream  # ours, not the built-in's
        await hass.services.async_call(
            CAMERA_DOMAIN, "snapshot", {"entity_id": entity.entity_id, "filename": str(still)}, blocking=True
        )
        client = await hass_client()
        response = await client.get(f"/api/camera_proxy/{entity.entity_id}")
        proxied = await response.read()
    finally:
        if isinstance(created := cast(object, entity.stream), Stream):
            await created.shutdown()

    with av.open(str(video)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == len(video_packets(video))  # every frame decodes
    assert video_duration(video) >= DURATION - SLACK
    assert [s["codec_name"] for s in probe_streams(video)] == ["h264", "aac"]
    assert still.read_bytes().startswith(b"\xff\xd8")
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    assert proxied.startswith(b"\xff\xd8")
