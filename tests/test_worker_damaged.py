"""The worker on a damaged camera file: an MP4 made by ffmpeg with a few NAL unit lengths flipped in the middle (as in
issue 14, where one such sample killed every run through the live feed). The run goes on to the end of the file:
parts and live frames keep coming after the damage, the damage is logged once per kind, nothing else goes wrong."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest

from custom_components.stream.exceptions import StreamEndedError
from custom_components.stream.outputs.live.feed import LiveFeed
from custom_components.stream.outputs.live.frames import LiveVideoFrame
from custom_components.stream.remux.media import Part, SegmentHeader
from custom_components.stream.source.worker import run_worker
from tests.test_worker_files import file_run

SECONDS = 6
FPS = 30
DAMAGED = range(2 * FPS, 2 * FPS + 40, 4)  # video packets whose first NAL length is wrecked, from 2 s on


def make_mp4(path: Path) -> None:
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration={SECONDS}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={SECONDS}",
            "-c:v", "libx264", "-g", str(FPS), "-preset", "ultrafast",
            "-c:a", "aac", "-ac", "1", "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip


def damage(path: Path) -> int:
    """Flip the top bits of the 4-byte NAL length at the start of some video samples, as a bad disk or a broken
    recorder leaves them; returns the first damaged sample's presentation time in ms."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [(packet.pos, packet.pts) for packet in container.demux(stream) if packet.size]
        time_base = stream.time_base
    assert time_base is not None
    data = bytearray(path.read_bytes())
    for index in DAMAGED:
        position, _ = packets[index]
        assert position is not None
        data[position] ^= 0x7F  # a length of ~2 GB in a sample of a few KB
    path.write_bytes(bytes(data))
    first_pts = packets[DAMAGED[0]][1]
    assert first_pts is not None
    return int(first_pts * time_base * 1000)


def counting(call_soon: Callable[..., object], frames: list[LiveVideoFrame]) -> Callable[..., None]:
    def forward(callback: Callable[..., None], *args: Any) -> None:
        frames.extend(arg for arg in args if isinstance(arg, LiveVideoFrame))
        call_soon(callback, *args)

    return forward


async def test_damaged_mp4_plays_to_its_end(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = tmp_path / "camera.mp4"
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, make_mp4, source)
    damaged_at_ms = await loop.run_in_executor(None, damage, source)
    frames: list[LiveVideoFrame] = []
    feed = LiveFeed(counting(loop.call_soon_threadsafe, frames))
    feed.add_viewer()  # a live (WebRTC) viewer: every packet goes through the Annex-B conversion
    parts: list[tuple[SegmentHeader, Part]] = []
    run = file_run(source, parts, live=feed)

    with caplog.at_level(logging.WARNING), pytest.raises(StreamEndedError):
        await loop.run_in_executor(None, run_worker, run)  # the source ended: the only way this run may end

    assert sum(part.duration for _, part in parts) > SECONDS - 0.5  # parts all the way, damage included
    assert max(frame.pts for frame in frames) * 1000 // 90000 > SECONDS * 1000 - 200  # live frames to the end too
    assert len(frames) == SECONDS * FPS - len(DAMAGED)  # only the damaged samples are lost to live viewers
    assert damaged_at_ms < (SECONDS - 2) * 1000
    ours = [record for record in caplog.records if record.name.startswith("custom_components.stream")]
    damage_lines = [record for record in ours if "damaged" in record.getMessage()]
    assert len(damage_lines) == 1  # one line for the kind "live video" within the minute
    assert "live video" in damage_lines[0].getMessage()
    assert "NAL unit length" in damage_lines[0].getMessage()
    assert not [record for record in ours if record.levelno >= logging.ERROR]
