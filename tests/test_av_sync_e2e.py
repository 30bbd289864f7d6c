"""Lips and sound in sync through our stream (issue 16): the simulator's sync marker (a tone burst each second that
starts with a white strip in the picture, aligned at the camera, see tests/simulator/marker.py) measured from the
media alone (tests/av_sync.py) in the HLS output and in recordings, for AAC (passed through) and PCMU, PCMA and Opus
(transcoded to AAC in the worker): within MAX_OFFSET_MS at the start and after LONG_RUN_SECONDS of streaming.

Each measurement runs in a child process (`python -m tests.av_sync`), so decoding never holds up Home Assistant's
event loop; the figures are printed (pytest -s) and in every failure message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.stream import Stream
from custom_components.stream.const import HLS_PROVIDER
from custom_components.stream.remux.media import Part, Segment
from tests.simulator import CameraSimulator, CameraSpec
from tests.simulator.process import PROJECT_DIR
from tests.simulator.spec import AudioCodec

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("enable_custom_integrations", "socket_enabled")]

CODECS: tuple[AudioCodec, ...] = ("aac", "pcmu", "pcma", "opus")
# Small pictures: four cameras, their streams and the measurements share a loaded 2-core machine.
SYNC_CAMERA = CameraSpec(width=320, height=240, fps=15, bitrate=300, sync=True)
MAX_OFFSET_MS = 40.0  # the bound, about a frame at 25 fps: what viewers do not notice
MEASURE_SECONDS = 5.0  # media measured each time: 5 markers and bursts
MIN_PAIRS = 3  # of them paired (a recording's or a read's edges may cut one burst or two)
RECORD_SECONDS = 6  # a second more than measured from HLS: a recording starts anywhere within a second
LONG_RUN_SECONDS = 300
WAIT = 60.0  # generous bound for media to show up on a loaded machine
MEASURE_TIMEOUT = 120.0
IDLE_TIMEOUT = 3600  # of the HLS output: nobody reads it during the long run, which must not stop the stream


@pytest.fixture(scope="module")
def sync_camera() -> Iterator[CameraSimulator]:
    """One simulator with a sync-marker mount per audio codec, e.g. /pcmu."""
    mounts: dict[str, CameraSpec] = {codec: dataclasses.replace(SYNC_CAMERA, audio=codec) for codec in CODECS}
    with CameraSimulator(mounts) as simulator:
        yield simulator


@dataclass
class Camera:
    """A stream of one codec's mount, its HLS URL and how much media its buffer has received."""

    codec: str
    stream: Stream
    hls_url: str
    media_seconds: float = 0.0
    changed: asyncio.Event | None = None

    def on_part(self, _segment: Segment, part: Part) -> None:
        self.media_seconds += part.duration
        if self.changed is not None:
            self.changed.set()

    async def wait_for_media(self, seconds: float, timeout: float) -> None:
        """Until the stream has buffered `seconds` of media since it started."""
        try:
            async with asyncio.timeout(timeout):
                while self.media_seconds < seconds:
                    self.changed = asyncio.Event()
                    await self.changed.wait()
        except TimeoutError:
            pytest.fail(f"{self.codec}: {self.media_seconds:.1f} s of media after {timeout:g} s, not {seconds:g}")


@pytest.fixture
async def open_camera(
    stream_factory: Callable[..., Stream], hass_client_no_auth: ClientSessionGenerator, sync_camera: CameraSimulator
) -> Callable[[str], Camera]:
    client = await hass_client_no_auth()

    def open_one(codec: str) -> Camera:
        stream = stream_factory(sync_camera.url(codec))
        stream.add_provider(HLS_PROVIDER, timeout=IDLE_TIMEOUT)
        camera = Camera(codec, stream, str(client.make_url(stream.endpoint_url(HLS_PROVIDER))))
        stream.buffer.add_listener(camera.on_part)
        return camera

    return open_one


async def measure(source: str | Path, *extra: str) -> dict[str, Any]:
    """tests.av_sync's summary of `source` (`extra`: its options), measured in a child process."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.av_sync", str(source), *extra),
        cwd=PROJECT_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), MEASURE_TIMEOUT)
    assert process.returncode == 0, stderr.decode()
    summary: dict[str, Any] = json.loads(stdout)
    return summary


async def measure_hls(camera: Camera, live_start: int) -> dict[str, Any]:
    """From the first segment listed (`live_start` 0: the stream's start) or the newest one (-1)."""
    return await measure(camera.hls_url, "--seconds", str(MEASURE_SECONDS), "--live-start", str(live_start))


async def measure_recording(camera: Camera, path: Path) -> dict[str, Any]:
    """A recording of RECORD_SECONDS from now, through `Stream.async_record`, measured whole."""
    await camera.stream.async_record(str(path), duration=RECORD_SECONDS, lookback=0)
    return await measure(path)


def check(where: str, summary: dict[str, Any]) -> list[str]:
    """What is wrong with one measurement (nothing when in sync); prints the figures either way."""
    offsets = [round(offset, 1) for offset in summary["offsets_ms"]]
    print(f"{where}: {summary['video_codec']}+{summary['audio_codec']}, offsets ms {offsets}")
    problems = []
    if summary["audio_codec"] != "aac":
        problems.append(f"{where}: audio is {summary['audio_codec']}, not AAC")
    if len(offsets) < MIN_PAIRS:
        problems.append(
            f"{where}: {len(offsets)} bursts paired with markers ({summary['markers']} markers, "
            f"{summary['onsets']} onsets)"
        )
    if any(abs(offset) > MAX_OFFSET_MS for offset in offsets):
        problems.append(f"{where}: offsets {offsets} ms beyond ±{MAX_OFFSET_MS:g}")
    return problems


async def measure_everywhere(camera: Camera, recordings: Path, live_start: int, when: str) -> list[str]:
    hls, recording = await asyncio.gather(
        measure_hls(camera, live_start), measure_recording(camera, recordings / f"{camera.codec}-{when}.mp4")
    )
    return check(f"{camera.codec} HLS {when}", hls) + check(f"{camera.codec} recording {when}", recording)


@pytest.mark.parametrize("codec", CODECS)
async def test_in_sync_at_the_start(open_camera: Callable[[str], Camera], recordings: Path, codec: str) -> None:
    camera = open_camera(codec)
    await camera.stream.start()
    # The HLS read starts at the first segment, so it measures the stream's first seconds (once that segment is
    # complete); the recording starts at once.
    recording = asyncio.create_task(measure_recording(camera, recordings / "start.mp4"))
    await camera.wait_for_media(MEASURE_SECONDS + 2, WAIT)
    hls = await measure_hls(camera, live_start=0)
    problems = check(f"{codec} HLS at the start", hls) + check(f"{codec} recording at the start", await recording)
    assert not problems


async def test_in_sync_after_five_minutes(open_camera: Callable[[str], Camera], recordings: Path) -> None:
    cameras = [open_camera(codec) for codec in CODECS]  # all at once: one long run for every codec
    for camera in cameras:
        await camera.stream.start()
    await asyncio.gather(*(camera.wait_for_media(LONG_RUN_SECONDS, 2 * LONG_RUN_SECONDS) for camera in cameras))
    results = await asyncio.gather(
        *(measure_everywhere(camera, recordings, live_start=-1, when="after 5 min") for camera in cameras)
    )
    problems = [problem for result in results for problem in result]
    assert not problems
