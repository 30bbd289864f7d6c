"""The worker against the real RTSP camera simulator: parts appear fast, decode, and faults are survived."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Iterable

import av
import pytest
from homeassistant.core import HomeAssistant

from custom_components.stream import Stream
from custom_components.stream.const import HLS_PROVIDER
from custom_components.stream.remux.media import Segment
from tests.simulator import CameraSimulator, CameraSpec

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("enable_custom_integrations", "socket_enabled")]

WAIT = 15.0  # generous bound for media to show up on a loaded 2-core machine
STANDARD_FPS = {"h264_aac": 30, "h264": 30, "h265": 15}  # the session simulator's mounts


class AvailabilityWatcher:
    """Records availability changes reported through the stream's update callback; awaitable."""

    def __init__(self, stream: Stream) -> None:
        self.changes: list[bool] = []
        self._stream = stream
        self._changed = asyncio.Event()
        stream.set_update_callback(self._on_update)

    def _on_update(self) -> None:
        self.changes.append(self._stream.available)
        self._changed.set()

    async def wait_for(self, available: bool, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while self._stream.available is not available:
                self._changed.clear()
                await self._changed.wait()


async def wait_for_complete_segment(stream: Stream, index: int = 0) -> Segment:
    """The `index`-th complete segment of the run (0 is the one-part fast-start segment)."""
    output = stream.add_provider(HLS_PROVIDER)

    def complete() -> list[Segment]:
        return [segment for segment in output.get_segments() if segment.complete]

    assert await output.buffer.wait_until(lambda: len(complete()) > index, WAIT)
    return complete()[index]


def decode(data: bytes) -> tuple[int, int, list[int], int]:
    """Video frames, audio frames, video pts and video packets of an fMP4 byte string, decoded by PyAV."""
    video_frames = audio_frames = 0
    video_pts: list[int] = []
    with av.open(io.BytesIO(data), "r") as container:
        video_packets = sum(1 for packet in container.demux(video=0) if packet.size)
    with av.open(io.BytesIO(data), "r") as container:
        frames: Iterable[object] = container.decode(*container.streams)
        for frame in frames:
            if isinstance(frame, av.VideoFrame):
                video_frames += 1
                video_pts.append(frame.pts or 0)
            else:
                audio_frames += 1
    return video_frames, audio_frames, video_pts, video_packets


@pytest.mark.parametrize(
    ("mount", "codec_prefix", "has_audio"),
    [("h264_aac", "avc1.64", True), ("h264", "avc1.64", False), ("h265", "hvc1.", False)],
)
async def test_parts_and_segments_decode(
    stream_factory: Callable[[str], Stream],
    camera_simulator: CameraSimulator,
    mount: str,
    codec_prefix: str,
    has_audio: bool,
) -> None:
    stream = stream_factory(camera_simulator.url(mount))
    stream.add_provider(HLS_PROVIDER)
    await stream.start()

    fast_start = await wait_for_complete_segment(stream, 0)
    assert fast_start.parts[-1] is not None
    assert fast_start.parts[0].independent
    segment = await wait_for_complete_segment(stream, 1)

    assert segment.header.codecs.startswith(codec_prefix)
    assert ("mp4a.40.2" in segment.header.codecs) == has_audio
    video_frames, audio_frames, pts, video_packets = decode(segment.init + fast_start.data() + segment.data())
    assert video_frames == video_packets  # every remuxed frame decodes
    assert video_frames / (fast_start.duration + segment.duration) == pytest.approx(STANDARD_FPS[mount], rel=0.25)
    assert (audio_frames > 0) == has_audio
    assert pts == sorted(pts)
    # Every part plays on its own after the init segment (that is what LL-HLS players fetch).
    for part in segment.parts:
        if part.independent:
            frames, _, _, packets = decode(segment.init + part.data)
            assert frames == packets > 0


async def test_stop_is_prompt_and_releases_the_thread(
    hass: HomeAssistant, stream_factory: Callable[[str], Stream], camera_simulator: CameraSimulator
) -> None:
    stream = stream_factory(camera_simulator.url("h264"))
    output = stream.add_provider(HLS_PROVIDER)
    await stream.start()
    assert await output.buffer.wait_until(lambda: output.last_segment is not None, WAIT)

    await stream.stop()

    assert not [t for t in threading.enumerate() if t.name == "stream_worker" and t.is_alive()]
    assert stream.access_token is None
    assert not stream.outputs()


async def test_a_stopped_stream_gives_its_media_back_and_plays_again_when_restarted(
    stream_factory: Callable[[str], Stream], camera_simulator: CameraSimulator
) -> None:
    stream = stream_factory(camera_simulator.url("h264"))
    await stream.start()
    await wait_for_complete_segment(stream)
    image = await stream.async_get_image()
    assert image is not None
    assert stream.buffer.memory_size() > 0

    await stream.stop()

    assert stream.buffer.memory_size() == 0
    assert stream.buffer.segments == []
    # The last picture stays (as in the built-in): asking for one right after the stop has it at once.
    again = await stream.async_get_image()
    assert again is not None
    assert again[:2] == b"\xff\xd8"
    # The restart (by async_get_image) plays from a fresh buffer.
    segment = await wait_for_complete_segment(stream)
    assert segment.parts
    assert stream.buffer.memory_size() > 0


async def test_a_preloaded_stream_keeps_running_and_buffering_when_its_outputs_go(
    stream_factory: Callable[[str], Stream], camera_simulator: CameraSimulator
) -> None:
    stream = stream_factory(camera_simulator.url("h264"))
    stream.dynamic_stream_settings.preload_stream = True
    await stream.start()
    first = await wait_for_complete_segment(stream)

    await stream.stop()

    assert not stream.outputs()
    assert stream.worker_running
    assert first in stream.buffer.segments
    assert stream.buffer.memory_size() > 0


async def test_camera_dropping_off_marks_unavailable_and_resumes_with_discontinuity(
    stream_factory: Callable[[str], Stream], make_camera_simulator: Callable[..., CameraSimulator]
) -> None:
    camera = make_camera_simulator({"cam": CameraSpec(width=320, height=240, fps=15)})
    stream = stream_factory(camera.url("cam"))
    watcher = AvailabilityWatcher(stream)
    output = stream.add_provider(HLS_PROVIDER)
    await stream.start()
    assert await output.buffer.wait_until(lambda: output.last_segment is not None, WAIT)
    first_discontinuity = output.last_segment.discontinuity if output.last_segment else -1

    camera.stop()
    await watcher.wait_for(False, WAIT)
    assert watcher.changes == [False]

    camera.start()
    await watcher.wait_for(True, WAIT + 5)
    assert await output.buffer.wait_until(
        lambda: (s := output.last_segment) is not None and s.discontinuity > first_discontinuity, WAIT
    )
    assert watcher.changes == [False, True]
    sequences = output.sequences
    assert sequences == sorted(sequences)


async def test_bad_source_is_unavailable_with_redacted_error(
    stream_factory: Callable[[str], Stream],
    camera_simulator: CameraSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = f"rtsp://admin:pa55word@127.0.0.1:{camera_simulator.port}/no_such_mount"
    stream = stream_factory(source)
    watcher = AvailabilityWatcher(stream)
    stream.add_provider(HLS_PROVIDER)
    await stream.start()

    await watcher.wait_for(False, WAIT)

    assert "Error from stream worker" in caplog.text
    assert "pa55word" not in caplog.text
    assert stream.get_diagnostics()["worker_error"] >= 1
    assert "pa55word" not in str(stream.get_diagnostics())


async def test_joining_a_running_camera_mid_gop_starts_cleanly(
    hass: HomeAssistant, camera_simulator: CameraSimulator, stream_factory: Callable[..., Stream]
) -> None:
    """Another client keeps the camera's encoder running, so each of our connections joins mid-GOP, where FFmpeg
    hands out the frames before the first keyframe without a dts: they are skipped, not a worker failure."""
    url = camera_simulator.url("h264_aac")
    viewer = await asyncio.create_subprocess_exec(
        "ffmpeg", "-nostdin", "-rtsp_transport", "tcp", "-i", url, "-c", "copy", "-f", "null", "-",
        "-progress", "pipe:1", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert viewer.stdout is not None
        async with asyncio.timeout(WAIT):
            while not (await viewer.stdout.readline()).startswith(b"frame="):
                pass
        for _ in range(3):
            stream = stream_factory(url)
            await stream.start()
            await wait_for_complete_segment(stream)
            diagnostics = stream.get_diagnostics()
            await stream.stop()
            assert diagnostics.get("worker_error", 0) == 0, diagnostics.get("last_error")
    finally:
        viewer.kill()
        await viewer.wait()
