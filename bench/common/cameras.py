"""Camera sources for the benchmarks.

- `simulator`: the RTSP camera simulator (tests/simulator) running for a block.
- `encoded_file`: a test file encoded once with the ffmpeg CLI and cached in bench/.cache.
- `paced_source`: a file served in real time by `ffmpeg -re` over loopback TCP to every client, as by a camera;
  `wait_until_serving` waits for its next client.
- `CameraViewer`: a background RTSP viewer that keeps a camera's encoder running and counts the frames it delivers.
- `parse_size`: a camera size on the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from bench.common import PROJECT_DIR
from bench.common.proc import tcp_listening
from tests.real_ha import free_port
from tests.simulator import CameraSimulator, CameraSpec

CACHE_DIR = PROJECT_DIR / "bench" / ".cache"
FPS_WINDOW_S = 5.0  # the camera's worst frame rate is that of its worst window this long


@asynccontextmanager
async def simulator(mounts: Mapping[str, CameraSpec]) -> AsyncIterator[CameraSimulator]:
    """The RTSP simulator serving `mounts` (mount -> camera) for the block."""
    camera = CameraSimulator(dict(mounts))
    await camera.async_start()
    try:
        yield camera
    finally:
        await camera.async_stop()


def encoded_file(name: str, ffmpeg_args: Sequence[str]) -> Path:
    """bench/.cache/<name>, made once by the ffmpeg CLI with `ffmpeg_args` (inputs, encoders, format: all but the
    output file); the name should say every parameter, as a file of that name is never made again."""
    path = CACHE_DIR / name
    if path.exists():
        return path
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp" + path.suffix)
    print(f"Generating {path.name} (once; cached) ...", flush=True)
    started = time.monotonic()
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *ffmpeg_args, str(tmp)]
    subprocess.run(command, check=True)
    tmp.replace(path)  # atomic: an interrupted generation leaves no half file in the cache
    print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    return path


@asynccontextmanager
async def paced_source(path: Path, audio_pes: str, *, loop: bool = False) -> AsyncIterator[str]:
    """A `tcp://` URL where `ffmpeg -re` serves `path` in real time, like a camera; its CPU is not ours to count.
    `audio_pes` "frame" keeps one ADTS frame per PES, as the file has it; a .mkv file is served as Matroska. With
    `loop` the file starts over at its end, timestamps running on (until the context exits).

    A listening ffmpeg serves one client and exits; another one is started then, so that every client is served, as
    by a camera (our integration's codec probe opens a camera before its stream does)."""
    port = free_port()
    command = [
        *("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re"),
        *(("-stream_loop", "-1") if loop else ()),
        *("-i", str(path)),
        *("-map", "0", "-c", "copy"),
        *_paced_format(path, audio_pes),
        f"tcp://127.0.0.1:{port}?listen=1",
    ]
    servers: list[asyncio.subprocess.Process] = []

    async def serve_next_clients() -> None:
        while True:
            await servers[-1].wait()
            await _listening_server(command, port, servers)

    serving: asyncio.Task[None] | None = None
    try:
        await _listening_server(command, port, servers)
        serving = asyncio.create_task(serve_next_clients())
        yield f"tcp://127.0.0.1:{port}"
    finally:
        if serving is not None:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await serving
        for server in servers:
            if server.returncode is None:
                server.terminate()
            await server.wait()


def _paced_format(path: Path, audio_pes: str) -> list[str]:
    """MPEG-TS as a camera's, or Matroska for a .mkv file (audio MPEG-TS cannot carry, such as G.711)."""
    if path.suffix == ".mkv":
        return ["-f", "matroska", "-live", "1"]
    return [*(("-pes_payload_size", "0") if audio_pes == "frame" else ()), "-f", "mpegts"]


async def wait_until_serving(url: str, timeout_s: float = 10.0) -> None:
    """Until a `paced_source` URL listens for its next client."""
    port = int(url.rsplit(":", 1)[1])
    for _ in range(round(timeout_s / 0.02)):
        if tcp_listening(port):
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"nothing listens on {url} after {timeout_s:g} s")


async def _listening_server(command: Sequence[str], port: int, servers: list[asyncio.subprocess.Process]) -> None:
    """Start `command` (added to `servers`) and wait until it listens on `port` (the socket table is read: a probe
    connection would use up its only accept)."""
    server = await asyncio.create_subprocess_exec(*command)
    servers.append(server)
    for _ in range(500):
        if tcp_listening(port):
            return
        if server.returncode is not None:
            raise RuntimeError(f"ffmpeg exited ({server.returncode}) before listening")
        await asyncio.sleep(0.02)
    raise RuntimeError(f"ffmpeg is not listening on port {port}")


@dataclass(slots=True)
class FrameCount:
    at: float  # wall clock
    frames: int


class CameraViewer:
    """A background RTSP viewer (ffmpeg, stream copy, no decode): keeps the camera's encoder running, counts frames.

    `async with CameraViewer(url) as viewer:` runs it for the block."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.counts: list[FrameCount] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", self.url),
            *("-map", "0", "-c", "copy", "-f", "null", "-", "-progress", "pipe:1", "-nostats"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self._reader = asyncio.create_task(self._read_progress())

    async def _read_progress(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            key, _, value = line.decode(errors="replace").strip().partition("=")
            if key == "frame" and value.isdigit():
                self.counts.append(FrameCount(time.time(), int(value)))

    async def wait_for_frames(self, frames: int, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.counts or self.counts[-1].frames < frames:
                if self._process is not None and self._process.returncode is not None:
                    raise RuntimeError(f"the camera viewer exited ({self._process.returncode})")
                await asyncio.sleep(0.1)

    def delivered_fps(self, since: float, until: float = math.inf) -> tuple[float | None, float | None]:
        """Frames per second the camera delivered between `since` and `until`: overall, and in the worst window of
        FPS_WINDOW_S (the overall figure when the interval is shorter)."""
        counts = [count for count in self.counts if since <= count.at <= until]
        if len(counts) < 2 or counts[-1].at - counts[0].at <= 0:
            return None, None
        overall = (counts[-1].frames - counts[0].frames) / (counts[-1].at - counts[0].at)
        worst: float | None = None
        end = 0
        for start, first in enumerate(counts):
            end = max(end, start + 1)  # the first count at least a window after `first`
            while end < len(counts) and counts[end].at - first.at < FPS_WINDOW_S:
                end += 1
            if end == len(counts):
                break
            window = (counts[end].frames - first.frames) / (counts[end].at - first.at)
            worst = window if worst is None else min(worst, window)
        return overall, overall if worst is None else worst

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()
        if self._reader is not None:
            await self._reader


def parse_size(text: str) -> tuple[int, int]:
    """WIDTHxHEIGHT, for argparse."""
    width, _, height = text.lower().partition("x")
    try:
        return int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
