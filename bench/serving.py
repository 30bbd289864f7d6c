"""Serving benchmark: Home Assistant's whole-process CPU and memory per streaming camera, each camera with one LL-HLS
client that behaves like hls.js, ours against the built-in in the same run.

Each implementation runs in a Home Assistant of its own, in a child process (`--serve`), with its HLS views on a
loopback port. The camera is the RTSP simulator (one shared encoder, H.264 + AAC or `--audio`, `--size`, 30 fps, a
keyframe every second); K streams of it (K = 1, 4, 8, 16 by default) run at once, as K cameras would. For each K,
ours and the built-in take turns (ours first at even K steps): the K streams start, K clients play them for
`--warmup` s, then for `--measure` s the child's CPU time (every thread: /proc/<pid>/stat) and its RSS at the end
are taken; the streams stop before the other implementation's turn.

The client (`LlHlsClient`) does what hls.js does in low-latency mode, plus what a player that loads preload hints
does: the master and the media playlist, the init segment, then in a loop a blocking playlist reload for the next
part (`_HLS_msn`/`_HLS_part`/`_HLS_skip=YES`) while the hinted part is requested at once; every part the playlist
then lists and the client lacks is fetched. Clients run in the driver process, so their own CPU is not counted.
A client's longest wait between two parts arriving, minus a part target, is its delivery gap: > 1 s would be a gap
in a player's picture.

Both at their own defaults (ours 0.34 s parts, the built-in 1.0 s), and with `--part P` both at P:

    scripts/sandbox --private-net python bench/serving.py                # defaults, K = 1 4 8 16: ~6 min
    scripts/sandbox --private-net python bench/serving.py --part 1.0     # equal part_duration
    scripts/sandbox --private-net python bench/serving.py --cameras 4 --measure 5   # quick look
    scripts/sandbox --private-net python bench/serving.py --floor       # and the demux floor, a third turn per K
    scripts/sandbox --private-net python bench/serving.py --audio pcmu  # a G.711 camera (issue 16's live cost)

`--floor` adds a reference server: the same Home Assistant with K threads that only demux the camera as ours opens
it (PyAV, same options and timeouts) and drop every packet. Its CPU is what any PyAV-based worker pays before it
remuxes or serves anything; the report then also gives each implementation's CPU above that floor.

Targets (issue 15): ours' CPU per camera <= 0.8x the built-in's at K = 4, 8, 16 at defaults (<= 0.7x at equal
part_duration), RSS <= 0.8x, and no client with a delivery gap over 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import re
import statistics
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, cast, get_args

if (_PROJECT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _PROJECT)  # run as a script: our `custom_components`, not pytest-homeassistant's empty one

import aiohttp
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.core import HomeAssistant

from bench.common.cameras import parse_size, simulator
from bench.common.hass import (
    AnyStream,
    StreamIntegration,
    create_stream_function,
    home_assistant,
    http_port,
    stop_stream,
)
from bench.common.proc import process_cpu
from bench.common.processes import ChildProcess, commands, emit
from bench.common.report import Machine, fmt, head, publish, ratio, table_head, warnings_section
from tests.simulator import CameraSpec
from tests.simulator.spec import AudioCodec

INTEGRATIONS: tuple[StreamIntegration, ...] = ("ours", "built-in")
FLOOR: Literal["floor"] = "floor"  # the reference server of --floor: PyAV demuxing only (see `DemuxFloor`)
type ServerKind = StreamIntegration | Literal["floor"]
DEFAULT_CAMERAS = (1, 4, 8, 16)
DEFAULT_SIZE = "1280x720"
CAMERA_FPS = 30
KEYFRAME_INTERVAL_S = 1.0
CAMERA_BITRATE_KBIT = 2000
MOUNT = "camera"
DEFAULT_WARMUP_S = 6.0
DEFAULT_MEASURE_S = 12.0
CPU_TARGET = 0.8
CPU_TARGET_EQUAL_PARTS = 0.7
CPU_TARGET_G711 = 1.1
G711 = ("pcmu", "pcma")
RSS_TARGET = 0.8
GAP_LIMIT_S = 1.0
SERVER_MARKER = "SERVING-SERVER "
SERVER_START_TIMEOUT_S = 120.0
SERVER_REPLY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 30.0
THIS_SCRIPT = str(Path(__file__).resolve())
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_PART = re.compile(r'#EXT-X-PART:[^\n]*URI="\./segment/(\d+)\.(\d+)\.m4s"')
_HINT = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="\./segment/(\d+)\.(\d+)\.m4s"')
_MEDIA = re.compile(r"^(?!#)(\S+\.m3u8\S*)$", re.MULTILINE)


# -- server side: one Home Assistant per implementation, in its own process ----------------------------------------


async def serve(kind: ServerKind, part: float | None) -> None:
    """Answer `start` (K streams of a source) and `stop` commands until stdin closes."""
    if kind == FLOOR:
        await serve_floor()
        return
    integration: StreamIntegration = "built-in" if kind == "built-in" else "ours"
    stream_config = {} if part is None else {"part_duration": part}
    async with home_assistant(integration, stream_config, serve_http=True) as hass:
        create_stream = create_stream_function(integration)
        settings = hass.data["stream"]["settings"]
        emit(SERVER_MARKER, {"event": "ready", "port": http_port(hass), "part": settings.part_target_duration})
        streams: list[AnyStream] = []
        async for command in commands():
            if command["op"] == "start":
                for _ in range(int(command["count"])):
                    stream = create_stream(hass, command["source"], {}, DynamicStreamSettings())
                    stream.add_provider("hls")
                    await stream.start()
                    streams.append(stream)
                emit(SERVER_MARKER, {"event": "started", "urls": [s.endpoint_url("hls") for s in streams]})
            elif command["op"] == "stop":
                await _stop_all(hass, streams)
                emit(SERVER_MARKER, {"event": "stopped"})
        await _stop_all(hass, streams)


class DemuxFloor:
    """K threads that only demux the camera: each opens it as ours does (same options, open and read timeouts) and
    drops every packet. What any worker built on PyAV pays before it remuxes a byte or serves a request: FFmpeg's
    RTSP reads, and the GIL taken back for every packet."""

    def __init__(self) -> None:
        self._quit = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, source: str, count: int) -> None:
        for _ in range(count):
            thread = threading.Thread(target=self._demux, args=(source,), name="stream_worker", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._quit.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        self._quit = threading.Event()

    def _demux(self, source: str) -> None:
        from custom_components.stream.source.options import source_open_options
        from custom_components.stream.source.worker import open_source, worker_timeouts

        quit_event = self._quit
        container = open_source(source, source_open_options(source, {}), worker_timeouts(source))
        try:
            streams = [container.streams.video[0], *container.streams.audio[:1]]
            for _ in container.demux(*streams):
                if quit_event.is_set():
                    break
        finally:
            container.close()


async def serve_floor() -> None:
    """The --floor server: the same Home Assistant as ours' (HTTP up, our `stream` set up, no stream started), with
    `DemuxFloor` threads instead of streams; nothing to serve, so no clients."""
    async with home_assistant("ours", {}, serve_http=True) as hass:
        emit(SERVER_MARKER, {"event": "ready", "port": http_port(hass), "part": 0.0})
        floor = DemuxFloor()
        async for command in commands():
            if command["op"] == "start":
                await hass.async_add_executor_job(floor.start, command["source"], int(command["count"]))
                emit(SERVER_MARKER, {"event": "started", "urls": []})
            elif command["op"] == "stop":
                await hass.async_add_executor_job(floor.stop)
                emit(SERVER_MARKER, {"event": "stopped"})
        await hass.async_add_executor_job(floor.stop)


async def _stop_all(hass: HomeAssistant, streams: list[AnyStream]) -> None:
    await asyncio.gather(*(stop_stream(hass, stream) for stream in streams))
    held: list[object] = hass.data["stream"]["streams"]
    for stream in streams:
        if stream in held:
            held.remove(stream)
    streams.clear()
    await hass.async_block_till_done()


class StreamServer:
    """One implementation's Home Assistant in a child process, driven over its stdin and stdout."""

    def __init__(self, integration: ServerKind, child: ChildProcess, ready: Mapping[str, Any]) -> None:
        self.integration = integration
        self.base = f"http://127.0.0.1:{int(ready['port'])}"
        self.part_target = float(ready["part"])
        self.child = child
        self.idle_rss_mib = self.rss_mib()  # before any stream: what a camera adds is measured from here

    @classmethod
    async def launch(cls, integration: ServerKind, part: float | None, profile: str | None) -> StreamServer:
        args = [THIS_SCRIPT, "--serve", integration, *(["--part", str(part)] if part is not None else [])]
        if profile is not None:
            args += ["--profile", f"{profile}-{integration}.prof"]
        child, ready = await ChildProcess.launch(
            f"{integration} server", args, marker=SERVER_MARKER, ready_timeout=SERVER_START_TIMEOUT_S
        )
        return cls(integration, child, ready)

    async def start(self, source: str, count: int) -> list[str]:
        reply = await self.child.request({"op": "start", "source": source, "count": count}, "started", 60.0)
        return [f"{self.base}{url}" for url in reply["urls"]]

    async def stop(self) -> None:
        await self.child.request({"op": "stop"}, "stopped", SERVER_REPLY_TIMEOUT_S)

    def cpu_s(self) -> float:
        return process_cpu(self.child.pid) or 0.0

    def thread_cpu_s(self) -> dict[str, float]:
        """CPU seconds of the child's threads, summed by thread name (the event loop is the process's own name)."""
        by_name: dict[str, float] = {}
        for task in Path(f"/proc/{self.child.pid}/task").iterdir():
            with contextlib.suppress(OSError):
                stat = (task / "stat").read_text()
                name = stat[stat.index("(") + 1 : stat.rindex(")")].rstrip("0123456789_-")
                fields = stat[stat.rindex(")") + 2 :].split()
                by_name[name] = by_name.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return by_name

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.child.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


# -- the client ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class ClientStats:
    requests: int = 0
    parts: int = 0
    errors: int = 0
    arrivals: list[float] = field(default_factory=list)

    def longest_wait_s(self, since: float) -> float:
        times = [moment for moment in self.arrivals if moment >= since]
        return max((b - a for a, b in pairwise(times)), default=0.0)


class LlHlsClient:
    """One viewer of one stream, loading parts as a low-latency player does (see the module docstring)."""

    def __init__(self, session: aiohttp.ClientSession, master_url: str) -> None:
        self._session = session
        self._master_url = master_url
        self.stats = ClientStats()
        self._have: set[tuple[int, int]] = set()

    async def _get(self, url: str) -> bytes | None:
        self.stats.requests += 1
        async with self._session.get(url) as response:
            body = await response.read()
            if response.status != 200:
                self.stats.errors += 1
                return None
            return body

    async def run(self) -> None:
        master = (await self._get(self._master_url) or b"").decode()
        base = self._master_url.rsplit("/", 1)[0]
        media = _MEDIA.search(master)
        if media is None:
            raise RuntimeError(f"no media playlist in {master!r}")
        playlist_url = f"{base}/{media.group(1).removeprefix('./')}"
        text = (await self._get(playlist_url) or b"").decode()
        await self._get(f"{base}/init.mp4")
        while True:
            hint = _HINT.search(text)
            if hint is None:
                await asyncio.sleep(0.1)
                text = (await self._get(playlist_url) or b"").decode()
                continue
            msn, index = int(hint.group(1)), int(hint.group(2))
            hinted = asyncio.create_task(self._part(base, msn, index))
            reload = f"{playlist_url}?_HLS_msn={msn}&_HLS_part={index}&_HLS_skip=YES"
            try:
                text = (await self._get(reload) or b"").decode()
                await hinted
            finally:
                hinted.cancel()
            for match in _PART.finditer(text):
                key = (int(match.group(1)), int(match.group(2)))
                if key not in self._have and key > (msn, index):
                    await self._part(base, *key)

    async def _part(self, base: str, msn: int, index: int) -> None:
        if (msn, index) in self._have:
            return
        if await self._get(f"{base}/segment/{msn}.{index}.m4s") is not None:
            self._have.add((msn, index))
            self.stats.parts += 1
            self.stats.arrivals.append(time.monotonic())


# -- the benchmark ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Config:
    cameras: tuple[int, ...]
    part: float | None
    width: int
    height: int
    warmup_s: float
    measure_s: float
    integrations: tuple[ServerKind, ...]
    profile: str | None = None
    repeat: int = 1
    audio: str = "aac"

    def camera_spec(self) -> CameraSpec:
        return CameraSpec(
            video="h264",
            profile="high",
            audio=None if self.audio == "none" else cast("AudioCodec", self.audio),
            width=self.width,
            height=self.height,
            fps=CAMERA_FPS,
            keyframe_interval=KEYFRAME_INTERVAL_S,
            bitrate=CAMERA_BITRATE_KBIT,
        )


@dataclass(frozen=True, slots=True)
class Cell:
    """One implementation with K cameras and K clients."""

    integration: ServerKind
    cameras: int
    cpu_per_camera: float  # CPU seconds per second of wall clock, per camera (1.0 = one core)
    rss_mib: float
    rss_growth_mib: float  # over the server before its first stream, per camera
    requests_per_s: float
    parts_per_s: float
    errors: int
    worst_gap_s: float  # the longest wait between two parts of any client, minus a part target
    threads: dict[str, float]  # CPU per camera (as cpu_per_camera) by thread name


async def measure(server: StreamServer, source: str, count: int, config: Config) -> Cell:
    urls = await server.start(source, count)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        clients = [LlHlsClient(session, url) for url in urls]
        tasks = [asyncio.create_task(client.run()) for client in clients]
        try:
            await asyncio.sleep(config.warmup_s)
            for task in tasks:
                if task.done():
                    task.result()  # a client that failed: its error ends the benchmark
            since = time.monotonic()
            requests_before = sum(client.stats.requests for client in clients)
            parts_before = sum(client.stats.parts for client in clients)
            cpu_before, threads_before = server.cpu_s(), server.thread_cpu_s()
            await asyncio.sleep(config.measure_s)
            cpu = server.cpu_s() - cpu_before
            threads = server.thread_cpu_s()
            elapsed = time.monotonic() - since
            rss = server.rss_mib()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    await server.stop()
    return Cell(
        server.integration,
        count,
        cpu_per_camera=cpu / elapsed / count,
        rss_mib=rss,
        rss_growth_mib=(rss - server.idle_rss_mib) / count,
        requests_per_s=(sum(client.stats.requests for client in clients) - requests_before) / elapsed,
        parts_per_s=(sum(client.stats.parts for client in clients) - parts_before) / elapsed,
        errors=sum(client.stats.errors for client in clients),
        worst_gap_s=max((client.stats.longest_wait_s(since) - server.part_target for client in clients), default=0.0),
        threads={
            name: (seconds - threads_before.get(name, 0.0)) / elapsed / count for name, seconds in threads.items()
        },
    )


async def benchmark(config: Config) -> tuple[list[Cell], dict[ServerKind, float]]:
    cells: list[Cell] = []
    async with simulator({MOUNT: config.camera_spec()}) as camera:
        launches = (StreamServer.launch(name, config.part, config.profile) for name in config.integrations)
        servers = await asyncio.gather(*launches)
        try:
            steps = [count for count in config.cameras for _ in range(config.repeat)]
            for step, count in enumerate(steps):
                order = servers if step % 2 == 0 else servers[::-1]
                for server in order:
                    cell = await measure(server, camera.url(MOUNT), count, config)
                    print(_cell_line(cell), flush=True)
                    cells.append(cell)
                    await asyncio.sleep(1.0)  # the camera's sessions close before the next turn
        finally:
            await asyncio.gather(*(server.child.close() for server in servers), return_exceptions=True)
    return cells, {server.integration: server.part_target for server in servers}


def _cell_line(cell: Cell) -> str:
    return (
        f"  {cell.integration:8} K={cell.cameras:2}: CPU {cell.cpu_per_camera * 100:.1f} % of a core per camera,"
        f" RSS {cell.rss_mib:.0f} MiB (+{cell.rss_growth_mib:.1f} per camera),"
        f" {cell.requests_per_s:.1f} requests/s, {cell.parts_per_s:.1f} parts/s,"
        f" {cell.errors} errors, worst delivery gap {cell.worst_gap_s:.2f} s; by thread: {_threads_text(cell)}"
    )


def _threads_text(cell: Cell) -> str:
    busiest = sorted(cell.threads.items(), key=lambda item: -item[1])[:4]
    return ", ".join(f"{name} {share * 100:.1f} %" for name, share in busiest)


# -- report ----------------------------------------------------------------------------------------------------------


def report(
    config: Config,
    argv: Sequence[str],
    cells: Sequence[Cell],
    parts: Mapping[ServerKind, float],
    machine: Machine,
) -> str:
    cpu_target = CPU_TARGET if config.part is None else CPU_TARGET_EQUAL_PARTS
    if config.audio in G711:
        cpu_target = CPU_TARGET_G711  # issue 16: the G.711 camera transcoded against the built-in's video only
    header = (
        "| cameras | ours CPU %/camera | built-in CPU %/camera | CPU ours/built-in | ours RSS MiB | built-in RSS MiB "
        "| RSS ours/built-in | RSS growth MiB/camera ours / built-in (ratio) | ours req/s | built-in req/s "
        "| worst gap s ours / built-in | errors ours / built-in |"
    )
    lines = table_head(header)
    warnings: list[str] = []
    for count in config.cameras:
        ours = _median_cell([c for c in cells if c.cameras == count and c.integration == "ours"])
        builtin = _median_cell([c for c in cells if c.cameras == count and c.integration == "built-in"])
        lines.append(_row(count, ours, builtin))
        if ours is not None and ours.worst_gap_s > GAP_LIMIT_S:
            warnings.append(f"ours at K={count}: a client waited {ours.worst_gap_s:.2f} s past a part target")
    settings = ", ".join(f"{name} {part:g} s parts" for name, part in parts.items() if name != FLOOR)
    text = [
        *head("Serving benchmark", "serving", argv),
        f"Camera: simulator, H.264 High {config.width}x{config.height} {CAMERA_FPS} fps, keyframe every"
        f" {KEYFRAME_INTERVAL_S:g} s, {CAMERA_BITRATE_KBIT} kbit/s, audio {config.audio}; K streams of it, one"
        " LL-HLS client each  ",
        f"Settings: {settings}; {config.warmup_s:g} s warm-up, {config.measure_s:g} s measured per cell,"
        f" {config.repeat} cell(s) per implementation and K (medians; ours and the built-in alternate)  ",
        machine.line(),
        "",
        *lines,
        *_floor_table(config, cells),
        "",
        f"Targets (ours/built-in): CPU per camera <= {cpu_target:g}x at K >= 4, RSS <= {RSS_TARGET:g}x, no delivery"
        f" gap over {GAP_LIMIT_S:g} s. CPU is the whole Home Assistant process (every thread), per camera, in % of"
        " one core; RSS at the end of the measurement.",
        *warnings_section(warnings),
    ]
    return "\n".join(text) + "\n"


def _floor_table(config: Config, cells: Sequence[Cell]) -> list[str]:
    """With --floor: what each implementation costs above the demux floor, the part its own design decides."""
    if FLOOR not in config.integrations:
        return []
    lines = [
        "",
        "Above the floor: the floor is K threads that only demux the camera with PyAV in the same Home Assistant (no"
        " remux, no stream, no client); each implementation's CPU minus the floor is what its remuxing and serving"
        " add.",
        "",
        *table_head(
            "| cameras | floor %/camera | floor/built-in | ours above floor | built-in above floor "
            "| above floor ours/built-in |"
        ),
    ]
    for count in config.cameras:
        floor, ours, builtin = (
            _median_cell([c for c in cells if c.cameras == count and c.integration == kind])
            for kind in (FLOOR, "ours", "built-in")
        )
        base = None if floor is None else floor.cpu_per_camera * 100
        theirs = None if builtin is None else builtin.cpu_per_camera * 100
        ours_above = None if ours is None or base is None else ours.cpu_per_camera * 100 - base
        theirs_above = None if theirs is None or base is None else theirs - base
        lines.append(
            f"| {count} | {fmt(base, '.2f')} | {ratio(base, theirs)} | {fmt(ours_above, '.2f')} "
            f"| {fmt(theirs_above, '.2f')} | {ratio(ours_above, theirs_above)} |"
        )
    return lines


def _median_cell(cells: Sequence[Cell]) -> Cell | None:
    """The cells of one implementation and K merged: the median of each figure, the worst gap, all errors."""
    if not cells:
        return None
    return Cell(
        cells[0].integration,
        cells[0].cameras,
        cpu_per_camera=statistics.median(cell.cpu_per_camera for cell in cells),
        rss_mib=statistics.median(cell.rss_mib for cell in cells),
        rss_growth_mib=statistics.median(cell.rss_growth_mib for cell in cells),
        requests_per_s=statistics.median(cell.requests_per_s for cell in cells),
        parts_per_s=statistics.median(cell.parts_per_s for cell in cells),
        errors=sum(cell.errors for cell in cells),
        worst_gap_s=max(cell.worst_gap_s for cell in cells),
        threads={},
    )


def _row(count: int, ours: Cell | None, builtin: Cell | None) -> str:
    def value(cell: Cell | None, name: str, scale: float = 1.0) -> float | None:
        return None if cell is None else float(getattr(cell, name)) * scale

    def pair(name: str, spec: str, with_ratio: bool = False) -> tuple[str, str, str]:
        mine, theirs = value(ours, name), value(builtin, name)
        return fmt(mine, spec), fmt(theirs, spec), ratio(mine, theirs) if with_ratio else ""

    ours_cpu, builtin_cpu = value(ours, "cpu_per_camera", 100), value(builtin, "cpu_per_camera", 100)
    rss = pair("rss_mib", ".0f", with_ratio=True)
    growth = pair("rss_growth_mib", ".1f", with_ratio=True)
    requests = pair("requests_per_s", ".1f")
    gaps = pair("worst_gap_s", ".2f")
    errors = pair("errors", ".0f")
    return (
        f"| {count} | {fmt(ours_cpu, '.2f')} | {fmt(builtin_cpu, '.2f')} | {ratio(ours_cpu, builtin_cpu)} "
        f"| {rss[0]} | {rss[1]} | {rss[2]} | {growth[0]} / {growth[1]} ({growth[2]}) | {requests[0]} | {requests[1]} "
        f"| {gaps[0]} / {gaps[1]} | {errors[0]} / {errors[1]} |"
    )


# -- command line ----------------------------------------------------------------------------------------------------


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, nargs="+", default=list(DEFAULT_CAMERAS), help="K values (1 4 8 16)")
    parser.add_argument("--part", type=float, help="part target for both (default: each implementation's own)")
    parser.add_argument("--size", type=parse_size, default=parse_size(DEFAULT_SIZE), help=f"camera ({DEFAULT_SIZE})")
    parser.add_argument("--warmup", type=float, default=DEFAULT_WARMUP_S, help="s of play before measuring")
    parser.add_argument("--measure", type=float, default=DEFAULT_MEASURE_S, help="s measured per cell")
    parser.add_argument("--only", choices=("ours", "builtin"), help="measure one implementation only")
    parser.add_argument("--repeat", type=int, default=1, help="cells per implementation and K (medians reported)")
    parser.add_argument(
        "--profile", metavar="PREFIX", help="cProfile each server's event loop thread into PREFIX-<impl>.prof"
    )
    parser.add_argument(
        "--audio",
        choices=(*get_args(AudioCodec.__value__), "none"),
        default="aac",
        help="the camera's audio (aac); ours transcodes G.711 and Opus to AAC, the built-in drops them",
    )
    parser.add_argument(
        "--floor", action="store_true", help="also measure the demux floor: K threads that only demux the camera"
    )
    parser.add_argument("--serve", choices=(*INTEGRATIONS, FLOOR), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    if args.serve:
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        asyncio.run(serve(args.serve, args.part))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        return 0
    integrations: tuple[ServerKind, ...] = (
        INTEGRATIONS if args.only is None else ("ours",) if args.only == "ours" else ("built-in",)
    )
    if args.floor:
        integrations = (*integrations, FLOOR)
    width, height = args.size
    config = Config(
        tuple(args.cameras),
        args.part,
        width,
        height,
        args.warmup,
        args.measure,
        integrations,
        args.profile,
        max(1, args.repeat),
        args.audio,
    )
    machine = Machine()
    cells, parts = asyncio.run(benchmark(config))
    publish(
        "serving",
        report(config, argv, cells, parts, machine),
        (f"-part{args.part:g}" if args.part is not None else "", args.part is not None),
        (f"-{args.only}" if args.only else "", args.only is not None),
        ("-floor", args.floor),
        (f"-{args.audio}", args.audio != "aac"),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
