"""Recovery benchmark (issue 14): our stream and Home Assistant's built-in one on the same camera, which drops off.

Both implementations watch one RTSP simulator camera (tests/simulator, H.264 320x240 15 fps, a keyframe every
second) at the same time, each in a Home Assistant of its own in a child process (`--serve`: the two register the same
HTTP routes, and ours takes over the built-in's `create_stream`), both at their default settings. A player per
implementation runs LL-HLS blocking playlist reloads (tests/plugins/hls_player.PlaylistClient) against its server.

1. **Outages** of 1, 5, 30 and 120 s (`--quick`: 1 and 5 s): each on fresh streams that played; the camera stops, stays
   away for the outage, starts again. "Media back" is the time from the camera listening again to the player being
   shown a part of the new run, per implementation (capped at `RECOVERY_CAP_S`: "> cap" when it never came).
2. **Fast flaps**: 100 (`--quick`: 10) times 0.3 s down, 2 s up, on fresh streams, at that fixed pace whoever keeps
   up: how many flaps each player was shown media again within the 2 s up, the median and worst of those, and the time
   from the last flap to media.
3. **A camera that hangs** (its process stopped with SIGSTOP: the connection stays open, nothing comes) on fresh
   streams: when each worker gives the run up (its `start_worker` count goes up), then the camera resumes and
   media is back after ... (as in 1).
4. **A dead camera**: a stream on a port nobody listens on, started at the beginning and left running through 1 to 3
   (at least `DEAD_MIN_S`): runs started (its diagnostics' `start_worker`, an attempt to open the camera) in the first
   minute and per minute after it.
5. **Cameras coming and going**: `--churn-cycles` times (5; `--quick` 2), 20 streams on the camera started, each
   played (master playlist answered), then stopped; the child's RSS after a garbage collection before the first
   cycle and after each, and its memory in use: RSS once glibc's malloc_trim handed back the free pages its
   per-thread arenas keep (Home Assistant's container images preload jemalloc, which returns them by itself).

Targets (issue 14 req. 1, 4): ours' media back <= 2 s median and <= 10 s worst; <= ~6 attempts a minute on a dead
camera after the first minute; memory in use after the last cycle within `RSS_SLACK_MB` of that after the first.

Run (the report also goes to bench/results/recovery-<date>[-quick].md; ~15 min, `--quick` ~3 min):

    scripts/sandbox python bench/recovery.py
    scripts/sandbox python bench/recovery.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if (_PROJECT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _PROJECT)  # run as a script: our `custom_components`, not pytest-homeassistant's empty one

import aiohttp
from homeassistant.components.camera.prefs import DynamicStreamSettings

from bench.common.cameras import simulator
from bench.common.hass import (
    AnyStream,
    StreamIntegration,
    create_stream_function,
    home_assistant,
    http_port,
    stop_stream,
)
from bench.common.logs import LogCapture, setup_logging
from bench.common.processes import ChildProcess, commands, emit
from bench.common.report import Machine, fmt, head, publish, ratio, table_head, warnings_section
from tests.plugins.hls_player import PlaylistClient
from tests.real_ha import free_port
from tests.resources import rss, trimmed_rss
from tests.simulator import CameraSimulator, CameraSpec

THIS_SCRIPT = str(Path(__file__).resolve())
INTEGRATIONS: tuple[StreamIntegration, ...] = ("ours", "built-in")
MARKER = "@@recovery "
CAMERA = {"cam": CameraSpec(width=320, height=240, fps=15)}
OUTAGES_S = (1.0, 5.0, 30.0, 120.0)
QUICK_OUTAGES_S = (1.0, 5.0)
FLAPS, QUICK_FLAPS = 100, 10
FLAP_DOWN_S, FLAP_UP_S = 0.3, 2.0
CHURN_STREAMS = 20
CHURN_CYCLES, QUICK_CHURN_CYCLES = 5, 2
SILENT_CAP_S = 45.0  # the built-in reads for up to 30 s before giving a silent camera up
RECOVERY_CAP_S = 180.0  # the built-in's back-off grows by 10 s a failure: after 120 s away it may wait ~60 s more
PLAY_TIMEOUT_S = 60.0
DEAD_MIN_S = 130.0  # the dead camera is watched at least this long: a first minute and more than one after it
SERVER_START_TIMEOUT_S = 120.0
REPLY_TIMEOUT_S = 60.0
RSS_SLACK_MB = 8.0  # growth of memory in use from the first cycle to the last (the first warms caches)
EXPECTED_LOG = ("Error from stream worker", "Stream recovered")  # what outages log, by design


# -- child side: one implementation's Home Assistant, answering commands --------------------------------------------


class Server:
    """Streams by id in one Home Assistant; each command answers one event."""

    def __init__(self, hass: Any, integration: StreamIntegration) -> None:
        self.hass = hass
        self.create_stream = create_stream_function(integration)
        self.streams: dict[int, AnyStream] = {}
        self.next_id = 0
        self.logs = LogCapture(EXPECTED_LOG)

    async def handle(self, command: dict[str, Any]) -> None:
        op = command["op"]
        if op == "start":
            stream = self.create_stream(self.hass, command["source"], {}, DynamicStreamSettings())
            url = ""
            if command.get("hls", True):
                stream.add_provider("hls")
                url = stream.endpoint_url("hls")
            await stream.start()
            self.next_id += 1
            self.streams[self.next_id] = stream
            emit(MARKER, {"event": "started", "id": self.next_id, "url": url})
        elif op == "stop":
            problems = await self.stop(self.streams.pop(int(command["id"])))
            emit(MARKER, {"event": "stopped", "problems": problems})
        elif op == "attempts":
            diagnostics: dict[str, Any] = getattr(self.streams[int(command["id"])], "get_diagnostics")()  # noqa: B009
            emit(MARKER, {"event": "attempts", "count": int(diagnostics.get("start_worker", 0))})
        elif op == "rss":
            await self.hass.async_block_till_done()
            gc.collect()
            resident = rss()
            emit(
                MARKER,
                {"event": "rss", "bytes": resident, "in_use": trimmed_rss(), "problems": self.logs.take_unexpected()},
            )

    async def stop(self, stream: AnyStream) -> list[str]:
        problems = await stop_stream(self.hass, stream)
        streams: list[object] = self.hass.data["stream"]["streams"]
        if stream in streams:
            streams.remove(stream)  # a stopped stream is never used again (as in bench/latency.py)
        return problems


async def serve(integration: StreamIntegration) -> None:
    async with home_assistant(integration, serve_http=True) as hass:
        server = Server(hass, integration)
        emit(MARKER, {"event": "ready", "port": http_port(hass)})
        async for command in commands():
            await server.handle(command)
        for stream in list(server.streams.values()):
            await server.stop(stream)


# -- parent side ------------------------------------------------------------------------------------------------------


@dataclass
class _Reply:
    status: int
    body: str

    async def text(self) -> str:
        return self.body


class _Http:
    """What PlaylistClient needs of an HTTP client (`get(path, params)`), on one server, every body read."""

    def __init__(self, session: aiohttp.ClientSession, port: int) -> None:
        self._session = session
        self._base = f"http://127.0.0.1:{port}"

    async def get(self, path: str, params: dict[str, str] | None = None) -> _Reply:
        async with self._session.get(self._base + path, params=params) as response:
            return _Reply(response.status, await response.text())


class Impl:
    """One implementation's child process and its HTTP client."""

    def __init__(self, integration: StreamIntegration, child: ChildProcess, http: _Http) -> None:
        self.integration = integration
        self.child = child
        self.http = http

    async def start(self, source: str, *, hls: bool = True) -> tuple[int, str]:
        reply = await self.child.request({"op": "start", "source": source, "hls": hls}, "started", REPLY_TIMEOUT_S)
        return int(reply["id"]), str(reply["url"]).rsplit("/", 1)[0] + "/playlist.m3u8"

    async def stop(self, stream_id: int) -> list[str]:
        reply = await self.child.request({"op": "stop", "id": stream_id}, "stopped", REPLY_TIMEOUT_S)
        return [str(problem) for problem in reply["problems"]]

    async def attempts(self, stream_id: int) -> int:
        return int(
            (await self.child.request({"op": "attempts", "id": stream_id}, "attempts", REPLY_TIMEOUT_S))["count"]
        )

    async def rss(self) -> tuple[tuple[int, int], list[str]]:
        """(RSS after a garbage collection, RSS once the allocator gave its free pages back), what was logged."""
        reply = await self.child.request({"op": "rss"}, "rss", REPLY_TIMEOUT_S)
        return (int(reply["bytes"]), int(reply["in_use"])), [str(problem) for problem in reply["problems"]]


@dataclass
class Results:
    outages: dict[float, dict[str, float | None]] = field(default_factory=dict)  # outage -> impl -> media back
    flaps: dict[str, list[float | None]] = field(default_factory=dict)  # impl -> per flap (None: not in the window)
    after_last_flap: dict[str, float | None] = field(default_factory=dict)
    silent: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # impl -> (noticed, back)
    dead: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # impl -> (first min, after, minutes after)
    rss: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # impl -> baseline, each cycle: (RSS, in use)
    problems: list[str] = field(default_factory=list)


async def _playing(impls: Sequence[Impl], camera: CameraSimulator) -> list[tuple[Impl, int, PlaylistClient, Any]]:
    """Fresh streams of `camera`, each with a running player that was shown the second segment."""
    playing = []
    for impl in impls:
        stream_id, path = await impl.start(camera.url("cam"))
        player = PlaylistClient(impl.http, path)
        playing.append((impl, stream_id, player, asyncio.get_running_loop().create_task(player.run())))
    for _, _, player, _ in playing:
        async with asyncio.timeout(PLAY_TIMEOUT_S):
            await player.wait_for(lambda player=player: player.newest[0] >= 1)  # type: ignore[misc]
    return playing


async def _stop_playing(playing: Sequence[tuple[Impl, int, PlaylistClient, Any]], results: Results) -> None:
    for impl, stream_id, _, task in playing:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        results.problems += [f"{impl.integration}: {problem}" for problem in await impl.stop(stream_id)]


def _newest(playing: Sequence[tuple[Impl, int, PlaylistClient, Any]]) -> list[int]:
    """Each player's newest segment."""
    return [player.newest[0] for _, _, player, _ in playing]


async def _back_within(player: PlaylistClient, before: int, back: float, cap: float) -> float | None:
    """Seconds from `back` to the player being shown a part of a segment after `before`; None if not within `cap`."""
    try:
        async with asyncio.timeout(max(0.0, back + cap - time.monotonic())):
            while player.newest[0] <= before:
                player.changed.clear()
                await player.changed.wait()
    except TimeoutError:
        return None
    return player.newest_at - back


async def outage(impls: Sequence[Impl], camera: CameraSimulator, seconds: float, results: Results) -> None:
    playing = await _playing(impls, camera)
    await camera.async_stop()
    await asyncio.sleep(seconds)  # the outage
    await camera.async_start()
    back = time.monotonic()
    befores = _newest(playing)  # the old run's last segment may have been listed during the outage
    times = await asyncio.gather(
        *(
            _back_within(player, before, back, RECOVERY_CAP_S)
            for (_, _, player, _), before in zip(playing, befores, strict=True)
        )
    )
    results.outages[seconds] = {impl.integration: value for impl, value in zip(impls, times, strict=True)}
    print(
        f"  outage {seconds:g} s: "
        + ", ".join(f"{i.integration} {fmt(t, '.2f')}" for i, t in zip(impls, times, strict=True))
    )
    await _stop_playing(playing, results)


async def _noticed(impl: Impl, stream_id: int, since: float, cap: float) -> float | None:
    """Seconds from `since` to the stream's worker starting another run (it gave the silent one up)."""
    first = await impl.attempts(stream_id)
    while time.monotonic() - since < cap:
        if await impl.attempts(stream_id) > first:
            return time.monotonic() - since
        await asyncio.sleep(0.1)  # no event crosses the process boundary: poll the diagnostics
    return None


async def silent(impls: Sequence[Impl], camera: CameraSimulator, results: Results) -> None:
    """The camera hangs (its process stopped: connections open, nothing sent) until both noticed or the cap."""
    playing = await _playing(impls, camera)
    camera.pause()
    since = time.monotonic()
    noticed = await asyncio.gather(
        *(_noticed(impl, stream_id, since, SILENT_CAP_S) for impl, stream_id, _, _ in playing)
    )
    camera.resume()
    back = time.monotonic()
    befores = _newest(playing)
    times = await asyncio.gather(
        *(
            _back_within(player, before, back, RECOVERY_CAP_S)
            for (_, _, player, _), before in zip(playing, befores, strict=True)
        )
    )
    for impl, seen, recovery in zip(impls, noticed, times, strict=True):
        results.silent[impl.integration] = (seen, recovery)
    print(f"  silent camera (noticed, media back after it resumed): {results.silent}")
    await _stop_playing(playing, results)


async def flaps(impls: Sequence[Impl], camera: CameraSimulator, count: int, results: Results) -> None:
    playing = await _playing(impls, camera)
    per_flap: dict[str, list[float | None]] = {impl.integration: [] for impl in impls}
    befores: list[int] = []
    back = 0.0
    for _ in range(count):
        await camera.async_stop()
        await asyncio.sleep(FLAP_DOWN_S)
        await camera.async_start()
        back = time.monotonic()
        befores = _newest(playing)
        times = await asyncio.gather(
            *(
                _back_within(player, before, back, FLAP_UP_S)
                for (_, _, player, _), before in zip(playing, befores, strict=True)
            )
        )
        for impl, value in zip(impls, times, strict=True):
            per_flap[impl.integration].append(value)
        await asyncio.sleep(max(0.0, back + FLAP_UP_S - time.monotonic()))  # the camera's time up
    last = await asyncio.gather(
        *(
            _back_within(player, before, back, RECOVERY_CAP_S)
            for (_, _, player, _), before in zip(playing, befores, strict=True)
        )
    )
    results.flaps = per_flap
    results.after_last_flap = {impl.integration: value for impl, value in zip(impls, last, strict=True)}
    print(f"  {count} flaps: media back after the last: {results.after_last_flap}")
    await _stop_playing(playing, results)


async def churn(impls: Sequence[Impl], camera: CameraSimulator, cycles: int, results: Results) -> None:
    for impl in impls:
        baseline, problems = await impl.rss()
        results.problems += [f"{impl.integration}: {problem}" for problem in problems]
        figures = [baseline]
        for _ in range(cycles):
            started = [await impl.start(camera.url("cam")) for _ in range(CHURN_STREAMS)]
            for _, path in started:
                await _answered(impl.http, path.rsplit("/", 1)[0] + "/master_playlist.m3u8")
            for stream_id, _ in started:
                results.problems += [f"{impl.integration}: {problem}" for problem in await impl.stop(stream_id)]
            figures.append((await impl.rss())[0])
        results.rss[impl.integration] = figures
        print(
            f"  {impl.integration} RSS, in use (MiB): "
            + ", ".join(f"{a / 2**20:.1f}/{b / 2**20:.1f}" for a, b in figures)
        )


async def _answered(http: _Http, path: str) -> None:
    """The master playlist answered 200 (both implementations hold it until the stream has media)."""
    async with asyncio.timeout(PLAY_TIMEOUT_S):
        while (await http.get(path)).status != 200:  # noqa: ASYNC110  (a 404/503 before the first media: ask again)
            await asyncio.sleep(0.2)


async def dead_camera(impls: Sequence[Impl], scenarios: Callable[[], Awaitable[None]], results: Results) -> None:
    """Streams on a port nobody listens on, watched while `scenarios` run (and for at least `DEAD_MIN_S`)."""
    port = free_port()
    started = time.monotonic()
    ids = [(await impl.start(f"rtsp://127.0.0.1:{port}/cam", hls=False))[0] for impl in impls]
    minute = asyncio.get_running_loop().create_task(_after(started + 60, impls, ids))
    await scenarios()
    first = await minute
    await asyncio.sleep(max(0.0, started + DEAD_MIN_S - time.monotonic()))
    total = [await impl.attempts(stream_id) for impl, stream_id in zip(impls, ids, strict=True)]
    minutes_after = (time.monotonic() - started - 60) / 60
    for impl, stream_id, before, after in zip(impls, ids, first, total, strict=True):
        results.dead[impl.integration] = (before, after - before, minutes_after)
        await impl.stop(stream_id)
    print(f"  dead camera: {results.dead}")


async def _after(when: float, impls: Sequence[Impl], ids: Sequence[int]) -> list[int]:
    await asyncio.sleep(max(0.0, when - time.monotonic()))
    return [await impl.attempts(stream_id) for impl, stream_id in zip(impls, ids, strict=True)]


# -- the run and its report -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    outages: tuple[float, ...]
    flaps: int
    churn_cycles: int


async def launch(integration: StreamIntegration, session: aiohttp.ClientSession) -> Impl:
    child, ready = await ChildProcess.launch(
        f"{integration} server",
        [THIS_SCRIPT, "--serve", integration],
        marker=MARKER,
        ready_timeout=SERVER_START_TIMEOUT_S,
    )
    return Impl(integration, child, _Http(session, int(ready["port"])))


async def benchmark(config: Config) -> Results:
    results = Results()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        impls = [await launch(integration, session) for integration in INTEGRATIONS]
        try:
            async with simulator(CAMERA) as camera:

                async def scenarios() -> None:
                    for seconds in config.outages:
                        await outage(impls, camera, seconds, results)
                    await flaps(impls, camera, config.flaps, results)
                    await silent(impls, camera, results)

                await dead_camera(impls, scenarios, results)
                await churn(impls, camera, config.churn_cycles, results)
            for impl in impls:
                results.problems += [f"{impl.integration}: {problem}" for problem in (await impl.rss())[1]]
        finally:
            for impl in impls:
                await impl.child.close()
    return results


def _s(value: float | None) -> str:
    return fmt(value, ".2f") if value is not None else f"> {RECOVERY_CAP_S:g}"


def _recovery_rows(results: Results) -> list[str]:
    rows = table_head("| media back after | ours (s) | built-in (s) | ours / built-in |")
    for seconds, figures in results.outages.items():
        ours, builtin = figures.get("ours"), figures.get("built-in")
        rows.append(f"| a {seconds:g} s outage | {_s(ours)} | {_s(builtin)} | {ratio(ours, builtin)} |")
    ours, builtin = results.after_last_flap.get("ours"), results.after_last_flap.get("built-in")
    count = len(results.flaps.get("ours", []))
    rows.append(f"| the last of {count} flaps | {_s(ours)} | {_s(builtin)} | {ratio(ours, builtin)} |")
    return rows


def _silent_rows(results: Results) -> list[str]:
    rows = table_head(
        "| a camera that hangs (connection open, nothing sent) | ours (s) | built-in (s) | ours / built-in |"
    )
    for index, label in ((0, "its run given up after"), (1, "media back after it resumed")):
        ours, builtin = (results.silent.get(impl, (None, None))[index] for impl in INTEGRATIONS)
        cap = SILENT_CAP_S if index == 0 else RECOVERY_CAP_S
        cells = [fmt(value, ".2f") if value is not None else f"> {cap:g}" for value in (ours, builtin)]
        rows.append(f"| {label} | {cells[0]} | {cells[1]} | {ratio(ours, builtin)} |")
    return rows


def _flap_rows(results: Results) -> list[str]:
    rows = table_head(f"| {FLAP_DOWN_S:g} s down, {FLAP_UP_S:g} s up | ours | built-in | ours / built-in |")
    within = {impl: [t for t in times if t is not None] for impl, times in results.flaps.items()}
    shown = {impl: len(times) for impl, times in within.items()}
    count = len(results.flaps.get("ours", []))
    rows.append(
        f"| flaps with media back within the {FLAP_UP_S:g} s up | {shown.get('ours', 0)}/{count} | "
        f"{shown.get('built-in', 0)}/{count} | |"
    )
    for name, reduce in (("median", statistics.median), ("worst", max)):
        figures = {impl: (reduce(times) if times else None) for impl, times in within.items()}
        ours, builtin = figures.get("ours"), figures.get("built-in")
        rows.append(
            f"| media back, {name} of those (s) | {fmt(ours, '.2f')} | {fmt(builtin, '.2f')} | {ratio(ours, builtin)} |"
        )
    return rows


def _dead_rows(results: Results) -> list[str]:
    rows = table_head("| a dead camera (connection refused) | ours | built-in | ours / built-in |")
    first = {impl: figures[0] for impl, figures in results.dead.items()}
    after = {impl: figures[1] / figures[2] for impl, figures in results.dead.items() if figures[2] > 0}
    minutes = max((figures[2] for figures in results.dead.values()), default=0.0)
    rows.append(
        f"| attempts in the first minute | {first.get('ours')} | {first.get('built-in')} | "
        f"{ratio(first.get('ours'), first.get('built-in'))} |"
    )
    rows.append(
        f"| attempts a minute after it ({minutes:.1f} min) | {fmt(after.get('ours'), '.1f')} | "
        f"{fmt(after.get('built-in'), '.1f')} | {ratio(after.get('ours'), after.get('built-in'))} |"
    )
    return rows


def _rss_rows(results: Results) -> list[str]:
    """RSS after a garbage collection, and in use: once glibc handed back the free pages its arenas keep."""
    rows = table_head(
        f"| {CHURN_STREAMS} cameras come and go (MiB) | ours RSS | ours in use | built-in RSS | built-in in use |"
    )
    ours, builtin = results.rss.get("ours", []), results.rss.get("built-in", [])
    for index in range(max(len(ours), len(builtin))):
        label = "baseline" if index == 0 else f"after cycle {index}"
        cells = [
            fmt(figures[index][which] / 2**20 if index < len(figures) else None, ".1f")
            for figures in (ours, builtin)
            for which in (0, 1)
        ]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    growth = [
        fmt((figures[-1][which] - figures[0][which]) / 2**20 if figures else None, "+.1f")
        for figures in (ours, builtin)
        for which in (0, 1)
    ]
    rows.append("| last - baseline | " + " | ".join(growth) + " |")
    return rows


def verdicts(results: Results) -> list[str]:
    """The issue's targets for ours."""
    ours = [figures.get("ours") for figures in results.outages.values()] + [results.after_last_flap.get("ours")]
    flapped = results.flaps.get("ours", [])
    known = [value for value in ours + flapped if value is not None]
    lines = []
    if known:
        missing = sum(value is None for value in ours)  # not back within the cap
        median, worst = statistics.median(known), max(known)
        ok = median <= 2 and worst <= 10 and not missing
        late = sum(value is None for value in flapped)
        lines.append(
            f"- media back: median {median:.2f} s (<= 2), worst {worst:.2f} s (<= 10), {missing} not back within "
            f"{RECOVERY_CAP_S:g} s ({late} flaps not back within their {FLAP_UP_S:g} s up): {'PASS' if ok else 'FAIL'}"
        )
    if (dead := results.dead.get("ours")) and dead[2] > 0:
        rate = dead[1] / dead[2]
        lines.append(
            f"- a dead camera: {rate:.1f} attempts a minute after the first (<= ~6): "
            f"{'PASS' if rate <= 6.5 else 'FAIL'}"
        )
    if (figures := results.rss.get("ours")) and len(figures) > 2:
        growth = (figures[-1][1] - figures[1][1]) / 2**20
        lines.append(
            f"- memory in use after the last cycle: {growth:+.1f} MiB from after the first (<= "
            f"{RSS_SLACK_MB:g}): {'PASS' if growth <= RSS_SLACK_MB else 'FAIL'}"
        )
    return lines


def report(argv: Sequence[str], results: Results, machine: Machine) -> str:
    lines = head("Recovery benchmark", "recovery", argv)
    lines += [
        machine.line(),
        "",
        "Camera: the RTSP simulator, H.264 320x240 15 fps, a keyframe a second; media back"
        " = camera listening again -> the player shown a part of the new run.",
        "",
    ]
    tables = (_recovery_rows, _flap_rows, _silent_rows, _dead_rows, _rss_rows)
    for rows in (table(results) for table in tables):
        lines += [*rows, ""]
    lines += ["## Targets (ours)", "", *verdicts(results)]
    lines += warnings_section(results.problems)
    return "\n".join(lines) + "\n"


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="outages of 1 and 5 s, 10 flaps, 2 churn cycles")
    parser.add_argument("--churn-cycles", type=int, help="cycles of 20 cameras coming and going")
    parser.add_argument("--serve", choices=INTEGRATIONS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    setup_logging()
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    config = Config(
        QUICK_OUTAGES_S if args.quick else OUTAGES_S,
        QUICK_FLAPS if args.quick else FLAPS,
        args.churn_cycles or (QUICK_CHURN_CYCLES if args.quick else CHURN_CYCLES),
    )
    machine = Machine()
    results = asyncio.run(benchmark(config))
    text = report(argv, results, machine)
    publish("recovery", text, ("-quick", args.quick))
    return 1 if any(line.endswith("FAIL") for line in verdicts(results)) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
