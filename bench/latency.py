"""Latency benchmark: cold starts of our stream and of Home Assistant's built-in one, played by hls.js in Chromium.

The camera is the RTSP simulator (tests/simulator): H.264 High 1920x1080 30 fps, a keyframe every second, 4 Mbit/s,
AAC audio, and a wall-clock capture timecode burnt into every frame. A background viewer (ffmpeg, stream copy) keeps
its encoder running for the whole benchmark, so every cold start joins the camera mid-GOP as it would join a real
camera (a seeded random pause of up to one keyframe interval between runs spreads the joins over the whole GOP), and
counts the frames the camera delivers (does the simulator keep real time?).

Each implementation runs in a Home Assistant instance of its own, in a child process of its own (`--serve`), with
its HLS views on its own loopback port: the two register the same routes and ours takes over the built-in's
`create_stream`, so they cannot share one instance. Both at their own default settings (ours: LL-HLS, 0.34 s parts;
the built-in: LL-HLS, 1.0 s parts), or both at `--part`. Cold starts alternate between the two (ours first in even
pairs) so that machine noise hits both alike, after one unmeasured warm-up each. One cold start:

1. A new browser context (no cache) and page, with a stall meter installed before the page loads.
2. A new stream on the camera, created, given its HLS provider and started the way the `camera/stream` websocket
   command does it; the moment just before is "stream start".
3. Right away, a plain HTTP client fetches the master playlist (the built-in's blocks until it holds two segments)
   and then the media playlist until it lists a complete segment: "first playable playlist" is when the client has
   both. At the same time the page navigates to the hls.js player with the master playlist URL ("player asked").
4. "First frame" is the first frame Chromium presents (requestVideoFrameCallback), from the player asked and from
   stream start. Then the player plays for `--playback` seconds of wall-clock time (12 s; 5 s with --quick).
5. Latency: for every presented frame, the wall clock minus the capture time read from the frame's timecode band
   (glass to glass: encoder, RTSP, remux, HLS delivery, hls.js buffering, decode). Median and p95 per run and over
   all runs' samples pooled.
6. Stalls after playback began: episodes from a `waiting` event to the next `playing` and their total duration,
   hls.js BUFFER_STALLED_ERRORs, fatal errors; also the longest gap between presented frames and the frame rate.
   A `waiting` while the video is seeking (hls.js seeks to its start position, sometimes after the first frame
   showed, and jumps gaps) is counted apart as a seek wait, with the seek's duration, not as a stall.
   The page also traces what hls.js did (playlist updates, loaded parts, errors, the buffered ranges); the report
   shows the trace of every stalled or INVALID run, and of one smooth run per implementation for comparison.
7. The context is closed and the stream stopped; its worker thread must end before the next run.

Targets (requirement 5, ours at default settings): first playable playlist <= keyframe interval + part target;
first frame <= 2.5 s after the player asked; latency median <= 1.2 s and p95 <= 1.5 s (pooled samples); no stalls
and no fatal errors across all cold starts. The start-up targets are judged on the median over runs (the report also
counts the runs over the bound). A run in which the player never presents a frame, or no playable playlist appears,
is INVALID (its player summary printed); the exit status is 1 on FAIL or INVALID.

Run (the report is also written to bench/results/latency-<date>[-quick][-part<P>][-<only>][-<size>][-noaudio].md):

    scripts/sandbox --private-net python bench/latency.py              # 20 cold starts each: ~15 min
    scripts/sandbox --private-net python bench/latency.py --quick      # 3 each, 5 s of playback: smoke run
    scripts/sandbox --private-net python bench/latency.py --part 1.0   # both at 1.0 s parts
    scripts/sandbox --private-net python bench/latency.py --runs 5 --only ours --size 1280x720
    scripts/sandbox --private-net python bench/latency.py --runs 8 --only ours --hls-debug  # + hls.js's own log

    scripts/sandbox --private-net python bench/latency.py --hls-js 1.6.19 --keyframe 2 --loaded  # busy box

The player is the hls.js the pinned frontend bundles (--hls-js picks another vendored one) with the frontend's
ha-hls-player settings (tests/assets/hls_player.js). --loaded keeps both cores busy for the whole run with
BUSY_LOOPS busy-loop processes at normal priority, as a Home Assistant box with a recorder and add-ons often is.
Every run also counts media hls.js loaded twice (a part or segment URL again, or a segment after its parts).

With --hls-debug every run's whole trace, hls.js's debug log included, goes to bench/results/trace-<impl>-<n>.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urljoin

if (_PROJECT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _PROJECT)  # run as a script: our `custom_components`, not pytest-homeassistant's empty one

import aiohttp
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.core import HomeAssistant
from playwright.async_api import Browser, Page

from bench.common import PROJECT_DIR
from bench.common.browser import fresh_context, require_hls_js
from bench.common.cameras import FPS_WINDOW_S, CameraViewer, parse_size, simulator
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
from bench.common.report import RESULTS_DIR, Machine, fmt, head, publish, ratio, table_head, warnings_section
from bench.common.stats import median, per_run, percentile_or_none, pooled, seconds, worst
from tests.browser_harness import (
    ASSETS_DIR,
    FRONTEND_HLS_JS,
    HLS_JS_VERSIONS,
    HlsPlayerError,
    PlayerState,
    open_browser,
    open_hls_player,
    serve_directory,
)
from tests.simulator import CameraSpec

# -- what is measured, and against what ----------------------------------------------------------------------------

INTEGRATIONS: tuple[StreamIntegration, ...] = ("ours", "built-in")
CAMERA_FPS = 30
KEYFRAME_INTERVAL_S = 1.0  # default; --keyframe
BUSY_LOOPS = 2  # --loaded: one per core of the 2-core box
BUSY_LOOP_CODE = "while True: pass"
CAMERA_BITRATE_KBIT = 4000
DEFAULT_SIZE = "1920x1080"
MOUNT = "camera"

FIRST_FRAME_TARGET_S = 2.5
LATENCY_MEDIAN_TARGET_S = 1.2
LATENCY_P95_TARGET_S = 1.5

DEFAULT_RUNS = 20
QUICK_RUNS = 3
DEFAULT_PLAYBACK_S = 12.0
QUICK_PLAYBACK_S = 5.0
WARMUP_PLAYBACK_S = 2.0

FIRST_FRAME_TIMEOUT_S = 30.0  # the built-in needs ~8 s; past this the run is INVALID
PLAYLIST_TIMEOUT_S = 30.0
PLAYLIST_POLL_S = 0.02  # retry interval of the playlist client while a playlist is not playable yet
SETTLE_S = 1.0  # pause after a stopped stream, so the camera's session teardown is not the next run's load
# Runs last about the same time, so without a random pause every cold start would join the camera at about the same
# point of its GOP; seeded, so that a rerun draws the same pauses.
PHASE_SEED = 20261121
SERVER_START_TIMEOUT_S = 120.0
SERVER_REPLY_TIMEOUT_S = 60.0
CAMERA_WARM_FRAMES = 2 * CAMERA_FPS  # frames the background viewer must have received before the first run
REAL_TIME_MIN_FRACTION = 0.97  # of the nominal frame rate, over the whole benchmark
REAL_TIME_DIP_FRACTION = 0.9  # a window below this fraction of the nominal rate is a warning
SAMPLES_KEPT = 5000  # latency samples the page keeps: every frame of a run at 30 fps
SERVER_MARKER = "LATENCY-SERVER "
THIS_SCRIPT = str(Path(__file__).resolve())
TRACE_LIMIT = 50_000  # trace lines a page keeps (hls.js's debug log is long)
TRACE_BEFORE_STALL_S = 3.0  # a stalled run's trace in the report starts this long before its first stall
TRACE_LINES_SHOWN = 40
LOADS_GROUPED = 4  # this many `loaded` trace lines in a row are shown as one

_LOGGER = logging.getLogger("bench.latency")

# Installed before the player page loads. Capture-phase listeners on window see the video element's media events,
# which do not bubble. A stall episode runs from a `waiting` event (once playback began) to the next `playing`. The
# trace notes what hls.js did (playlist updates, loaded parts, errors) and the buffer at each stall, for the report.
STALL_METER_JS = """
(() => {
  const meter = { playing: false, waitingSince: null, episodes: 0, stalledMs: 0, seeks: 0, lastFrameAt: null,
                  longestGapMs: 0, seekWaits: 0, seekingSince: null, waitedInSeek: false, seekWaitMs: 0 };
  const origin = performance.now();
  const now = () => performance.now();
  const trace = [];
  const note = (what) => {
    if (trace.length < TRACE_LIMIT) trace.push(`${((now() - origin) / 1000).toFixed(2)} ${what}`);
  };
  const video = () => document.querySelector("video");
  const buffered = () => {
    const v = video();
    const ranges = [];
    for (let i = 0; v && i < v.buffered.length; i++) {
      ranges.push(`${v.buffered.start(i).toFixed(2)}-${v.buffered.end(i).toFixed(2)}`);
    }
    return `t=${v ? v.currentTime.toFixed(2) : "?"} buffered=[${ranges.join(" ")}]`;
  };
  window.addEventListener("playing", () => {
    if (meter.waitingSince !== null) {
      meter.stalledMs += now() - meter.waitingSince;
      meter.waitingSince = null;
      note(`playing again ${buffered()}`);
    }
    meter.playing = true;
  }, true);
  window.addEventListener("waiting", () => {
    if (video() && video().seeking) {
      meter.seekWaits += 1;
      meter.waitedInSeek = true;
      note(`waiting during a seek ${buffered()}`);
      return;
    }
    if (meter.playing && meter.waitingSince === null) {
      meter.episodes += 1;
      meter.waitingSince = now();
      note(`STALL (waiting) ${buffered()}`);
    }
  }, true);
  window.addEventListener("seeking", () => {
    if (meter.playing) meter.seeks += 1;
    meter.seekingSince = now();
    note(`seeking ${buffered()}`);
  }, true);
  window.addEventListener("seeked", () => {
    if (meter.seekingSince !== null && meter.waitedInSeek) {
      meter.seekWaitMs = Math.max(meter.seekWaitMs, now() - meter.seekingSince);
    }
    meter.seekingSince = null;
    meter.waitedInSeek = false;
    note(`seeked ${buffered()}`);
  }, true);
  document.addEventListener("DOMContentLoaded", () => {
    const onFrame = (frameNow) => {
      if (meter.lastFrameAt === null) note(`first frame ${buffered()}`);
      if (meter.lastFrameAt !== null) meter.longestGapMs = Math.max(meter.longestGapMs, frameNow - meter.lastFrameAt);
      meter.lastFrameAt = frameNow;
      video().requestVideoFrameCallback(onFrame);
    };
    video().requestVideoFrameCallback(onFrame);
  });
  const watchHls = setInterval(() => {
    const hls = window.player && window.player.hls;
    if (!hls) return;
    clearInterval(watchHls);
    const E = Hls.Events;
    hls.on(E.MANIFEST_LOADED, () => note("master playlist loaded"));
    hls.on(E.LEVEL_UPDATED, (_e, d) => {
      const x = d.details;
      const lastPart = x.partList && x.partList.length ? `${x.lastPartSn}.${x.lastPartIndex}` : "-";
      note(`playlist: last segment ${x.endSN} last part ${lastPart}, edge ${x.edge.toFixed(2)}`);
    });
    hls.on(E.FRAG_LOADED, (_e, d) => note(`loaded ${d.frag.sn}${d.part ? "." + d.part.index : ""} ${buffered()}`));
    hls.on(E.ERROR, (_e, d) => note(`error ${d.details}${d.fatal ? " (fatal)" : ""} ${buffered()}`));
  }, 5);
  window.stallMeter = {
    read: () => ({
      episodes: meter.episodes,
      seekWaits: meter.seekWaits,
      longestSeekWaitMs: meter.seekWaitMs,
      stalledMs: meter.stalledMs + (meter.waitingSince === null ? 0 : now() - meter.waitingSince),
      stillStalled: meter.waitingSince !== null,
      seeks: meter.seeks,
      // A gap still open at the end (playback frozen) counts too.
      longestGapMs: Math.max(meter.longestGapMs, meter.lastFrameAt === null ? 0 : now() - meter.lastFrameAt),
      trace,
    }),
    note,
  };
})();
""".replace("TRACE_LIMIT", str(TRACE_LIMIT))


# Routes hls.js's debug log into the trace (tests/assets/hls_player.js installs the sink into its config).
HLS_DEBUG_JS = """
window.hlsDebugSink = (...args) => window.stallMeter.note("hls.js " + args.map(String).join(" ").slice(0, 400));
"""


def write_trace(run: ColdStart) -> Path:
    """A run's whole trace, for --hls-debug."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"trace-{run.integration}-{run.number}.txt"
    path.write_text("\n".join(run.trace) + "\n")
    return path


# -- server side: one Home Assistant per implementation, in its own process ----------------------------------------


async def _stop_stream(hass: HomeAssistant, stream: AnyStream, logs: LogCapture) -> list[str]:
    """Stop `stream` as the camera does when its last viewer left, and wait until its worker thread has ended."""
    problems = await stop_stream(hass, stream)
    streams: list[object] = hass.data["stream"]["streams"]
    if stream in streams:
        streams.remove(stream)  # a stopped stream is never used again; don't let the list grow
    await hass.async_block_till_done()
    return problems + logs.take_unexpected()


async def serve(integration: StreamIntegration, part: float | None) -> None:
    """Answer `start`/`stop` commands (JSON lines on stdin) until stdin closes; replies are marked stdout lines."""
    logs = LogCapture()
    stream_config = {} if part is None else {"part_duration": part}
    async with home_assistant(integration, stream_config, serve_http=True) as hass:
        create_stream = create_stream_function(integration)
        settings = hass.data["stream"]["settings"]
        ready = {
            "event": "ready",
            "port": http_port(hass),
            "part": settings.part_target_duration,
            "ll_hls": settings.ll_hls,
        }
        emit(SERVER_MARKER, ready)
        stream: AnyStream | None = None
        async for command in commands():
            if command["op"] == "start":
                logs.take_unexpected()
                started_at = time.time()
                stream = create_stream(hass, command["source"], {}, DynamicStreamSettings())
                stream.add_provider("hls")
                await stream.start()
                emit(SERVER_MARKER, {"event": "started", "at": started_at, "url": stream.endpoint_url("hls")})
            elif command["op"] == "stop":
                problems = [] if stream is None else await _stop_stream(hass, stream, logs)
                stream = None
                emit(SERVER_MARKER, {"event": "stopped", "problems": problems})
        if stream is not None:
            await _stop_stream(hass, stream, logs)


# -- driver side: the camera, the two servers, the browser --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartedStream:
    started_at: float  # wall clock, just before the stream was created
    master_url: str


class StreamServer:
    """One implementation's Home Assistant in a child process (`--serve`), driven over its stdin and stdout."""

    def __init__(self, integration: StreamIntegration, child: ChildProcess, ready: Mapping[str, Any]) -> None:
        self.integration = integration
        self.port = int(ready["port"])
        self.part_target = float(ready["part"])
        self.ll_hls = bool(ready["ll_hls"])
        self._child = child

    @classmethod
    async def launch(cls, integration: StreamIntegration, part: float | None) -> StreamServer:
        args = [THIS_SCRIPT, "--serve", integration, *(["--part", str(part)] if part is not None else [])]
        child, ready = await ChildProcess.launch(
            f"{integration} stream server", args, marker=SERVER_MARKER, ready_timeout=SERVER_START_TIMEOUT_S
        )
        return cls(integration, child, ready)

    async def start_stream(self, source: str) -> StartedStream:
        reply = await self._child.request({"op": "start", "source": source}, "started", SERVER_REPLY_TIMEOUT_S)
        return StartedStream(float(reply["at"]), f"http://127.0.0.1:{self.port}{reply['url']}")

    async def stop_stream(self) -> list[str]:
        reply = await self._child.request({"op": "stop"}, "stopped", SERVER_REPLY_TIMEOUT_S)
        return [str(problem) for problem in reply["problems"]]

    async def close(self) -> None:
        """Close its stdin (it stops Home Assistant and exits); kill it if it takes too long."""
        await self._child.close()


# -- one cold start -----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PlaylistTiming:
    master_s: float | None = None  # stream start → master playlist 200
    playable_s: float | None = None  # stream start → master and media playlist, the latter with a complete segment
    problem: str | None = None


@dataclass(slots=True)
class ColdStart:
    integration: StreamIntegration
    number: int  # 1-based among this implementation's measured runs (0: warm-up)
    playlist: PlaylistTiming
    first_frame_s: float | None = None  # player asked → first frame presented
    start_to_frame_s: float | None = None  # stream start → first frame presented
    latency_ms: tuple[float, ...] = ()
    stall_episodes: int = 0
    stalled_s: float = 0.0
    player_stalls: int = 0  # the harness's count: waiting events after playback began + BUFFER_STALLED_ERRORs
    buffer_stalled_errors: int = 0
    seeks: int = 0
    seek_waits: int = 0  # `waiting` events while seeking: not stalls
    longest_seek_wait_s: float = 0.0
    longest_frame_gap_s: float | None = None
    presented_fps: float | None = None
    dropped_frames: int = 0
    hls_latency_s: float | None = None  # hls.js's own estimate at the end of the window
    errors: list[str] = field(default_factory=list)  # hls.js errors, `type/details`, fatal ones marked
    fatal: bool = False
    invalid: str | None = None  # why nothing could be measured
    problems: list[str] = field(default_factory=list)  # what the integration logged
    hls_version: str = ""
    repeated_media_loads: int = 0  # media hls.js loaded again (a URL twice, or a segment after its parts)
    media_loads: int = 0
    camera_fps: float | None = None  # what the camera delivered to the background viewer during this run
    trace: tuple[str, ...] = ()  # what hls.js did, seconds since the page started

    @property
    def latency_median_ms(self) -> float | None:
        return percentile_or_none(self.latency_ms, 0.5)

    @property
    def latency_p95_ms(self) -> float | None:
        return percentile_or_none(self.latency_ms, 0.95)

    @property
    def stalled(self) -> bool:
        return self.stall_episodes > 0 or self.player_stalls > 0


async def first_playable_playlist(master_url: str, started_at: float) -> PlaylistTiming:
    """What a plain client gets: the master playlist, then the media playlist once it lists a complete segment."""
    timing = PlaylistTiming()
    timeout = aiohttp.ClientTimeout(total=PLAYLIST_TIMEOUT_S)
    try:
        async with asyncio.timeout(PLAYLIST_TIMEOUT_S), aiohttp.ClientSession(timeout=timeout) as session:
            media_url: str | None = None
            while media_url is None:
                async with session.get(master_url) as response:
                    body = await response.text()
                if response.status == 200 and "#EXT-X-STREAM-INF" in body:
                    timing.master_s = time.time() - started_at
                    uri = next(line for line in body.splitlines() if line.strip() and not line.startswith("#"))
                    media_url = urljoin(master_url, uri.strip())
                else:
                    await asyncio.sleep(PLAYLIST_POLL_S)
            while timing.playable_s is None:
                async with session.get(media_url) as response:
                    body = await response.text()
                if response.status == 200 and "#EXTINF" in body:
                    timing.playable_s = time.time() - started_at
                else:
                    await asyncio.sleep(PLAYLIST_POLL_S)
    except (TimeoutError, aiohttp.ClientError, StopIteration) as error:
        timing.problem = f"no playable playlist within {PLAYLIST_TIMEOUT_S:g} s ({type(error).__name__}: {error})"
    return timing


@dataclass(frozen=True, slots=True)
class StallMeter:
    episodes: int
    stalled_s: float
    seeks: int
    seek_waits: int
    longest_seek_wait_s: float
    longest_frame_gap_s: float
    trace: tuple[str, ...]

    @classmethod
    async def read(cls, page: Page) -> StallMeter:
        raw = cast(dict[str, Any], await page.evaluate("() => window.stallMeter.read()"))
        return cls(
            episodes=int(raw["episodes"]),
            stalled_s=float(raw["stalledMs"]) / 1000,
            seeks=int(raw["seeks"]),
            seek_waits=int(raw["seekWaits"]),
            longest_seek_wait_s=float(raw["longestSeekWaitMs"]) / 1000,
            longest_frame_gap_s=float(raw["longestGapMs"]) / 1000,
            trace=tuple(str(line) for line in raw["trace"]),
        )


async def cold_start(
    server: StreamServer,
    browser: Browser,
    assets_url: str,
    camera_url: str,
    *,
    number: int,
    playback_s: float,
    hls_debug: bool = False,
    hls_version: str = FRONTEND_HLS_JS,
) -> ColdStart:
    playlist_task: asyncio.Task[PlaylistTiming] | None = None
    async with fresh_context(browser) as context:
        try:
            page = await context.new_page()
            await page.add_init_script(STALL_METER_JS)
            if hls_debug:
                await page.add_init_script(HLS_DEBUG_JS)
            stream = await server.start_stream(camera_url)
            playlist_task = asyncio.create_task(first_playable_playlist(stream.master_url, stream.started_at))
            asked_at = time.time()
            player = await open_hls_player(
                page, assets_url, stream.master_url, low_latency=True, samples=SAMPLES_KEPT, hls_version=hls_version
            )
            try:
                first = await player.wait_for_first_frame(timeout_s=FIRST_FRAME_TIMEOUT_S)
            except HlsPlayerError as error:
                playlist = await playlist_task
                meter = await StallMeter.read(page)
                invalid = f"no first frame: {error}"
                return ColdStart(server.integration, number, playlist, invalid=invalid, trace=meter.trace)
            assert first.first_frame_at_wall_ms is not None
            first_frame_at = first.first_frame_at_wall_ms / 1000
            await asyncio.sleep(max(0.0, first_frame_at + playback_s - time.time()))
            state = await player.state()
            meter = await StallMeter.read(page)
            window_s = time.time() - first_frame_at
            playlist = await playlist_task
            return _cold_start_result(
                server.integration,
                number,
                playlist,
                state,
                meter,
                first_frame_s=first_frame_at - asked_at,
                start_to_frame_s=first_frame_at - stream.started_at,
                window_s=window_s,
            )
        finally:
            if playlist_task is not None and not playlist_task.done():
                playlist_task.cancel()


def _cold_start_result(
    integration: StreamIntegration,
    number: int,
    playlist: PlaylistTiming,
    state: PlayerState,
    meter: StallMeter,
    *,
    first_frame_s: float,
    start_to_frame_s: float,
    window_s: float,
) -> ColdStart:
    return ColdStart(
        integration,
        number,
        playlist,
        first_frame_s=first_frame_s,
        start_to_frame_s=start_to_frame_s,
        latency_ms=state.latency_samples_ms,
        stall_episodes=meter.episodes,
        stalled_s=meter.stalled_s,
        player_stalls=state.stalls,
        buffer_stalled_errors=state.buffer_stalled_errors,
        seeks=meter.seeks,
        seek_waits=meter.seek_waits,
        longest_seek_wait_s=meter.longest_seek_wait_s,
        longest_frame_gap_s=meter.longest_frame_gap_s,
        presented_fps=state.frames_presented / window_s if window_s > 0 else None,
        dropped_frames=state.dropped_frames,
        hls_latency_s=state.latency,
        errors=[f"{error.type}/{error.details}{' (fatal)' if error.fatal else ''}" for error in state.errors],
        fatal=state.fatal,
        invalid=playlist.problem,
        hls_version=state.hls_version,
        repeated_media_loads=state.repeated_media_loads,
        media_loads=state.media_requests,
        trace=meter.trace,
    )


# -- the benchmark ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Config:
    runs: int
    playback_s: float
    part: float | None
    integrations: tuple[StreamIntegration, ...]
    width: int
    height: int
    audio: bool
    hls_debug: bool = False
    hls_version: str = FRONTEND_HLS_JS
    keyframe_s: float = KEYFRAME_INTERVAL_S
    loaded: bool = False

    def camera_spec(self) -> CameraSpec:
        return CameraSpec(
            video="h264",
            profile="high",
            audio="aac" if self.audio else None,
            width=self.width,
            height=self.height,
            fps=CAMERA_FPS,
            keyframe_interval=self.keyframe_s,
            bitrate=CAMERA_BITRATE_KBIT,
        )


@dataclass(slots=True)
class Outcome:
    runs: list[ColdStart]
    servers: dict[StreamIntegration, tuple[float, bool]]  # part target, LL-HLS
    camera_fps: tuple[float | None, float | None]
    chromium_version: str
    warnings: list[str]
    keyframe_s: float = KEYFRAME_INTERVAL_S


def _run_line(run: ColdStart) -> str:
    where = f"{run.integration:8} {'warm-up' if run.number == 0 else f'run {run.number:2}'}"
    if run.invalid is not None:
        return (
            f"  {where}: INVALID (playlist {fmt(run.playlist.playable_s, '.2f')} s,"
            f" master {fmt(run.playlist.master_s, '.2f')} s): {run.invalid}"
        )
    return (
        f"  {where}: playlist {fmt(run.playlist.playable_s, '.2f')} s (master {fmt(run.playlist.master_s, '.2f')}),"
        f" first frame {fmt(run.first_frame_s, '.2f')} s (from start {fmt(run.start_to_frame_s, '.2f')}),"
        f" latency {fmt(seconds(run.latency_median_ms), '.2f')}/{fmt(seconds(run.latency_p95_ms), '.2f')} s,"
        f" stalls {run.stall_episodes} ({run.stalled_s:.2f} s), seek waits {run.seek_waits},"
        f" repeated loads {run.repeated_media_loads}/{run.media_loads},"
        f" {fmt(run.presented_fps, '.1f')} fps"
        f" (camera {fmt(run.camera_fps, '.1f')})" + (" FATAL" if run.fatal else "")
    )


async def benchmark(config: Config) -> Outcome:
    warnings: list[str] = []
    require_hls_js()
    servers: dict[StreamIntegration, StreamServer] = {}
    async with simulator({MOUNT: config.camera_spec()}) as camera, CameraViewer(camera.url(MOUNT)) as viewer:
        try:
            launched = await asyncio.gather(
                *(StreamServer.launch(integration, config.part) for integration in config.integrations)
            )
            servers = {server.integration: server for server in launched}
            await viewer.wait_for_frames(CAMERA_WARM_FRAMES)
            measuring_since = time.time()
            phases = random.Random(PHASE_SEED)
            async with open_browser() as browser, serve_directory(ASSETS_DIR) as assets:

                async def one(integration: StreamIntegration, number: int, playback_s: float) -> ColdStart:
                    server = servers[integration]
                    begun = time.time()
                    try:
                        run = await cold_start(
                            server,
                            browser,
                            assets.base_url,
                            camera.url(MOUNT),
                            number=number,
                            playback_s=playback_s,
                            hls_debug=config.hls_debug,
                            hls_version=config.hls_version,
                        )
                    finally:
                        problems = await server.stop_stream()
                    run.problems += problems
                    run.camera_fps = viewer.delivered_fps(begun, time.time())[0]
                    print(_run_line(run), flush=True)
                    if config.hls_debug:
                        print(f"    trace: {write_trace(run).relative_to(PROJECT_DIR)}", flush=True)
                    for problem in problems:
                        print(f"    logged: {problem}", flush=True)
                    # Uniform over one keyframe interval: the next join lands anywhere in the GOP, as a user's would.
                    await asyncio.sleep(SETTLE_S + phases.uniform(0, config.keyframe_s))
                    return run

                print("Warm-up (one unmeasured cold start each):", flush=True)
                for integration in config.integrations:
                    warm = await one(integration, 0, WARMUP_PLAYBACK_S)
                    if warm.invalid:
                        warnings.append(f"{integration} warm-up: {warm.invalid}")
                print(f"Measured: {config.runs} cold starts each, alternating", flush=True)
                runs: list[ColdStart] = []
                for pair in range(config.runs):
                    order = config.integrations if pair % 2 == 0 else config.integrations[::-1]
                    for integration in order:
                        runs.append(await one(integration, pair + 1, config.playback_s))
                chromium_version = browser.version
            camera_fps = viewer.delivered_fps(measuring_since)
        finally:
            await asyncio.gather(*(server.close() for server in servers.values()), return_exceptions=True)
    return Outcome(
        runs=runs,
        servers={name: (server.part_target, server.ll_hls) for name, server in servers.items()},
        camera_fps=camera_fps,
        chromium_version=chromium_version,
        warnings=warnings,
        keyframe_s=config.keyframe_s,
    )


# -- report -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """One implementation's measured runs, reduced."""

    runs: list[ColdStart]  # valid ones
    invalid: int

    @property
    def count(self) -> int:
        return len(self.runs)

    def values(self, pick: Callable[[ColdStart], float | None]) -> list[float]:
        return per_run(self.runs, pick)

    @property
    def stalled_runs(self) -> int:
        return sum(run.stalled for run in self.runs)

    @property
    def fatal_runs(self) -> int:
        return sum(run.fatal for run in self.runs)


def _summaries(outcome: Outcome) -> dict[StreamIntegration, Summary]:
    summaries: dict[StreamIntegration, Summary] = {}
    for integration in outcome.servers:
        mine = [run for run in outcome.runs if run.integration == integration]
        valid = [run for run in mine if run.invalid is None]
        summaries[integration] = Summary(valid, len(mine) - len(valid))
    return summaries


def _pooled(summary: Summary, fraction: float) -> float | None:
    return pooled(summary.runs, lambda run: run.latency_ms, fraction, per_unit=1000)


@dataclass(frozen=True, slots=True)
class Figure:
    """One row of the table: a figure per implementation (typical, worst run), its target for ours."""

    label: str
    typical: Callable[[Summary], float | None]
    worst: Callable[[Summary], float | None] | None  # None: the column stays empty
    spec: str = ".2f"
    worst_spec: str = ".2f"
    counted: bool = False  # a count or a total: no ratio
    target: float | None = None  # ours must be <= this (typical value)
    target_text: str = ""
    over: Callable[[Summary, float], int] | None = None  # runs over the target, shown with the verdict


def _runs_over(pick: Callable[[ColdStart], float | None]) -> Callable[[Summary, float], int]:
    def count(summary: Summary, target: float) -> int:
        return sum(value > target for value in summary.values(pick))

    return count


def _per_run(label: str, pick: Callable[[ColdStart], float | None], *, lowest: bool = False, **options: Any) -> Figure:
    """A figure read from every run: the median over the runs, and the worst run (the lowest with `lowest`)."""
    return Figure(
        label,
        lambda s: median(s.values(pick)),
        lambda s: worst(s.values(pick), lowest=lowest),
        **options,
    )


def _figures(playlist_target: float) -> list[Figure]:
    def playable(run: ColdStart) -> float | None:
        return run.playlist.playable_s

    def master(run: ColdStart) -> float | None:
        return run.playlist.master_s

    def first_frame(run: ColdStart) -> float | None:
        return run.first_frame_s

    def start_to_frame(run: ColdStart) -> float | None:
        return run.start_to_frame_s

    def run_median(run: ColdStart) -> float | None:
        return seconds(run.latency_median_ms)

    def run_p95(run: ColdStart) -> float | None:
        return seconds(run.latency_p95_ms)

    def fps(run: ColdStart) -> float | None:
        return run.presented_fps

    def gap(run: ColdStart) -> float | None:
        return run.longest_frame_gap_s

    def stalled_s(run: ColdStart) -> float | None:
        return run.stalled_s

    def hls_latency(run: ColdStart) -> float | None:
        return run.hls_latency_s

    def camera_fps(run: ColdStart) -> float | None:
        return run.camera_fps

    return [
        _per_run(
            "first playable playlist s (stream start → master + media playlist with a complete segment)",
            playable,
            target=playlist_target,
            target_text=f"<= {playlist_target:.2f} (keyframe interval + part, median)",
            over=_runs_over(playable),
        ),
        _per_run("master playlist s (stream start → 200)", master),
        _per_run(
            "first frame s (player asked → first frame presented)",
            first_frame,
            target=FIRST_FRAME_TARGET_S,
            target_text=f"<= {FIRST_FRAME_TARGET_S:g} (median)",
            over=_runs_over(first_frame),
        ),
        _per_run("first frame s (stream start → first frame presented)", start_to_frame),
        Figure(
            "latency median s (glass to glass; pooled samples | worst run's median)",
            lambda s: _pooled(s, 0.5),
            lambda s: worst(s.values(run_median)),
            target=LATENCY_MEDIAN_TARGET_S,
            target_text=f"<= {LATENCY_MEDIAN_TARGET_S:g} (pooled)",
            over=_runs_over(run_median),
        ),
        Figure(
            "latency p95 s (pooled samples | worst run's p95)",
            lambda s: _pooled(s, 0.95),
            lambda s: worst(s.values(run_p95)),
            target=LATENCY_P95_TARGET_S,
            target_text=f"<= {LATENCY_P95_TARGET_S:g} (pooled)",
            over=_runs_over(run_p95),
        ),
        _per_run("hls.js latency estimate s at the end (median | worst)", hls_latency),
        Figure(
            "runs with stalls (count | worst run's stalled s)",
            lambda s: float(s.stalled_runs),
            lambda s: worst(s.values(stalled_s)),
            spec="g",
            counted=True,
            target=0,
            target_text="0 runs",
        ),
        Figure(
            "stall episodes, total | stalled s, total",
            lambda s: float(sum(run.stall_episodes for run in s.runs)),
            lambda s: sum(s.values(stalled_s)),
            spec="g",
            worst_spec=".1f",
            counted=True,
        ),
        Figure(
            "waits during seeks, total | longest seek with a wait s (not stalls: hls.js's own seeks)",
            lambda s: float(sum(run.seek_waits for run in s.runs)),
            lambda s: max((run.longest_seek_wait_s for run in s.runs), default=0.0),
            spec="g",
            worst_spec=".2f",
            counted=True,
        ),
        Figure(
            "repeated media loads, total | worst run's (hls.js loading media it already had)",
            lambda s: float(sum(run.repeated_media_loads for run in s.runs)),
            lambda s: max((float(run.repeated_media_loads) for run in s.runs), default=0.0),
            spec="g",
            worst_spec="g",
            counted=True,
            target=0,
            target_text="0",
        ),
        Figure(
            "runs with a fatal hls.js error",
            lambda s: float(s.fatal_runs),
            None,
            spec="g",
            counted=True,
            target=0,
            target_text="0 runs",
        ),
        Figure(
            "runs in which the integration logged a warning or error",
            lambda s: float(sum(bool(run.problems) for run in s.runs)),
            None,
            spec="g",
            counted=True,
        ),
        _per_run(
            "presented frames per s (median | lowest run)",
            fps,
            lowest=True,
            spec=".1f",
            worst_spec=".1f",
        ),
        _per_run(
            "camera frames per s during the run (median | lowest run)",
            camera_fps,
            lowest=True,
            spec=".1f",
            worst_spec=".1f",
        ),
        _per_run("longest gap between presented frames s (median | worst)", gap),
    ]


def _verdict(figure: Figure, ours: Summary | None) -> str:
    if figure.target is None:
        return ""
    if ours is None or ours.count == 0:
        return "n/a"
    value = figure.typical(ours)
    if value is None:
        return "**INVALID** (no value)"
    verdict = "PASS" if value <= figure.target else "FAIL"
    over = f"; {figure.over(ours, figure.target)}/{ours.count} runs over" if figure.over is not None else ""
    return f"**{verdict}**{over}"


def summarize(outcome: Outcome) -> tuple[str, str, list[str]]:
    """The markdown table, the overall PASS/FAIL/INVALID, and the verdict lines."""
    summaries = _summaries(outcome)
    ours, builtin = summaries.get("ours"), summaries.get("built-in")
    ours_part = outcome.servers.get("ours", (0.0, True))[0]
    figures = _figures(outcome.keyframe_s + ours_part)
    header = (
        "| figure | ours | ours worst run | built-in | built-in worst run | ours/built-in | target (ours) | verdict |"
    )
    lines = table_head(header)
    verdicts: list[str] = []
    verdict_lines: list[str] = []
    for figure in figures:

        def cell(summary: Summary | None, pick: Callable[[Summary], float | None] | None, spec: str) -> str:
            if pick is None:
                return ""
            return "n/a" if summary is None else fmt(pick(summary), spec)

        verdict = _verdict(figure, ours)
        if verdict:
            verdicts.append(verdict)
            verdict_lines.append(f"- {figure.label.split(' (')[0]}: {verdict} (target {figure.target_text})")
        ours_typical = None if ours is None else figure.typical(ours)
        builtin_typical = None if builtin is None else figure.typical(builtin)
        lines.append(
            f"| {figure.label} | {cell(ours, figure.typical, figure.spec)} "
            f"| {cell(ours, figure.worst, figure.worst_spec)} "
            f"| {cell(builtin, figure.typical, figure.spec)} | {cell(builtin, figure.worst, figure.worst_spec)} "
            f"| {'' if figure.counted else ratio(ours_typical, builtin_typical)} "
            f"| {figure.target_text} | {verdict} |"
        )
    counts = " ".join(
        f"{name}: {summary.count} valid, {summary.invalid} INVALID." for name, summary in summaries.items()
    )
    lines.append(f"\nRuns: {counts}")
    if any(summary.invalid for summary in summaries.values()):
        overall = "INVALID"
    elif any("FAIL" in verdict or "INVALID" in verdict for verdict in verdicts):
        overall = "FAIL"
    elif ours is None:
        overall = "NOT JUDGED"
    else:
        overall = "PASS"
    return "\n".join(lines), overall, verdict_lines


def runs_table(runs: Sequence[ColdStart]) -> str:
    header = (
        "| # | implementation | playlist s | master s | first frame s | from start s | latency median s | p95 s "
        "| hls.js latency s | stall episodes | stalled s | player stalls | seeks | seek waits (longest s) "
        "| longest gap s | fps | dropped | repeated loads "
        "| camera fps | hls.js errors |"
    )
    lines = table_head(header)
    for run in runs:
        if run.invalid is not None:
            lines.append(
                f"| {run.number} | {run.integration} | {fmt(run.playlist.playable_s, '.2f')} "
                f"| {fmt(run.playlist.master_s, '.2f')} | INVALID: {run.invalid.splitlines()[0]} |"
            )
            continue
        errors = Counter(run.errors)
        error_text = ", ".join(f"{detail} x{count}" for detail, count in errors.most_common())
        lines.append(
            f"| {run.number} | {run.integration} | {fmt(run.playlist.playable_s, '.2f')} "
            f"| {fmt(run.playlist.master_s, '.2f')} | {fmt(run.first_frame_s, '.2f')} "
            f"| {fmt(run.start_to_frame_s, '.2f')} | {fmt(seconds(run.latency_median_ms), '.2f')} "
            f"| {fmt(seconds(run.latency_p95_ms), '.2f')} | {fmt(run.hls_latency_s, '.2f')} "
            f"| {run.stall_episodes} | {run.stalled_s:.2f} | {run.player_stalls} | {run.seeks} "
            f"| {run.seek_waits} ({run.longest_seek_wait_s:.2f}) "
            f"| {fmt(run.longest_frame_gap_s, '.2f')} | {fmt(run.presented_fps, '.1f')} | {run.dropped_frames} "
            f"| {run.repeated_media_loads}/{run.media_loads} | {fmt(run.camera_fps, '.1f')} | {error_text} |"
        )
    return "\n".join(lines)


def stall_traces(runs: Sequence[ColdStart]) -> list[str]:
    """For each stalled (or INVALID) run, what hls.js did from a few seconds before its first stall; for comparison,
    the first smooth run of each implementation from the start."""
    lines: list[str] = []
    smooth = {
        integration: next((run for run in runs if run.integration == integration and _smooth(run)), None)
        for integration in INTEGRATIONS
    }
    for run in runs:
        if not (run.stalled or run.invalid or run is smooth[run.integration]):
            continue
        if not run.trace:
            lines += ["", f"{run.integration} run {run.number}: hls.js reported nothing (no master playlist yet)."]
            continue
        stall_at = next((_trace_time(line) for line in run.trace if "STALL" in line), None)
        since = -math.inf if stall_at is None else stall_at - TRACE_BEFORE_STALL_S
        shown = _compress_loads([line for line in run.trace if _trace_time(line) >= since])
        kind = "no stall, for comparison; " if _smooth(run) else ""
        lines += ["", f"{run.integration} run {run.number} ({kind}seconds since the page started):", "", "```"]
        lines += shown[:TRACE_LINES_SHOWN]
        if len(shown) > TRACE_LINES_SHOWN:
            lines.append(f"... {len(shown) - TRACE_LINES_SHOWN} more")
        lines.append("```")
    return lines


def _smooth(run: ColdStart) -> bool:
    return run.invalid is None and not run.stalled and bool(run.trace)


def _trace_time(line: str) -> float:
    return float(line.split(" ", 1)[0])


def _compress_loads(lines: Sequence[str]) -> list[str]:
    """Runs of LOADS_GROUPED or more `loaded` lines in a row become one line: which parts, how often, buffered."""
    out: list[str] = []
    group: list[str] = []

    def flush() -> None:
        if len(group) < LOADS_GROUPED:
            out.extend(group)
        else:
            parts = list(dict.fromkeys(line.split(" ")[2] for line in group))
            first, last = group[0].split(" ", 1)[0], group[-1].split(" ", 1)[0]
            buffered = list(dict.fromkeys(line.split("buffered=", 1)[-1] for line in group))
            out.append(
                f"{first}-{last} loaded {len(group)} times: {' '.join(parts)}; buffered {' | '.join(buffered[:4])}"
                + (" ..." if len(buffered) > 4 else "")
            )
        group.clear()

    for line in lines:
        if line.split(" ", 2)[1] == "loaded":
            group.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return out


def report(config: Config, argv: Sequence[str], outcome: Outcome, *, machine: Machine) -> tuple[str, str]:
    table, overall, verdict_lines = summarize(outcome)
    warnings = list(outcome.warnings)
    camera_fps, worst_fps = outcome.camera_fps
    real_time = camera_fps is not None and camera_fps >= REAL_TIME_MIN_FRACTION * CAMERA_FPS
    if not real_time:
        warnings.append(
            f"the camera delivered {fmt(camera_fps, '.1f')} fps of {CAMERA_FPS}: it did not keep real time on this"
            " machine (try --size 1280x720)"
        )
    if worst_fps is not None and worst_fps < REAL_TIME_DIP_FRACTION * CAMERA_FPS:
        warnings.append(
            f"the camera dipped to {worst_fps:.1f} fps in its worst {FPS_WINDOW_S:g} s window (a starved CPU);"
            " see the camera fps column for the runs it hit"
        )
    logged: dict[tuple[str, str], list[int]] = {}  # (implementation, message) → the runs that logged it
    for run in outcome.runs:
        if run.invalid is not None:
            warnings.append(f"{run.integration} run {run.number} INVALID: {run.invalid}")
        for problem in run.problems:
            logged.setdefault((run.integration, problem), []).append(run.number)
    for (integration, problem), numbers in logged.items():
        warnings.append(
            f"{integration} logged in {len(numbers)} of {config.runs} runs ({', '.join(map(str, numbers))}): {problem}"
        )
    settings = "; ".join(
        f"{name}: LL-HLS {'on' if ll_hls else 'off'}, part target {part:g} s"
        for name, (part, ll_hls) in outcome.servers.items()
    )
    hls_version = next((run.hls_version for run in outcome.runs if run.hls_version), "?")
    audio = ", AAC-LC mono 48 kHz" if config.audio else ", no audio"
    lines = [
        *head("Latency benchmark", "latency", argv),
        f"Camera: simulator, H.264 High {config.width}x{config.height} {CAMERA_FPS} fps, keyframe every"
        f" {config.keyframe_s:g} s, {CAMERA_BITRATE_KBIT} kbit/s{audio}, RTSP over TCP; its encoder kept running by"
        f" a background viewer (cold starts join mid-GOP, anywhere in it: a random pause of up to one keyframe"
        f" interval before each). It {'kept' if real_time else '**did not keep**'} real"
        f" time: {fmt(camera_fps, '.2f')} fps delivered over the measured runs, {fmt(worst_fps, '.1f')} fps in the"
        f" worst {FPS_WINDOW_S:g} s window  ",
        f"Player: hls.js {hls_version} with the frontend's ha-hls-player settings (lowLatencyMode on) in headless"
        f" Chromium {outcome.chromium_version} (software decoding), a new browser context per cold start;"
        f" {config.playback_s:g} s of playback after the first frame  ",
        f"Settings (each implementation's own defaults unless --part): {settings}; segment target 6 s  ",
        f"Runs: {config.runs} cold starts per implementation, alternating, after one unmeasured warm-up each;"
        " each in a Home Assistant instance of its own (child process, own loopback port)  ",
        machine.line(f"LOADED ({BUSY_LOOPS} busy-loop processes for the whole run), " if config.loaded else ""),
        "",
        table,
        "",
        f"Targets for ours (requirement 5): **{overall}**"
        + (" (a run measured nothing: see the warnings)" if overall == "INVALID" else ""),
        "",
        *verdict_lines,
        "",
        "Latency is glass to glass: the wall clock when Chromium presents a frame minus the capture time the camera"
        " burnt into it. Stall episodes: `waiting` → `playing` after playback began; player stalls: the harness's"
        " count (`waiting` events + hls.js BUFFER_STALLED_ERROR); a run with either has stalled. A `waiting` while the"
        " video is seeking (hls.js's own seek to its start position or over a gap) is a seek wait, counted apart.",
        "",
        "## Runs",
        "",
        runs_table(outcome.runs),
    ]
    if traces := stall_traces(outcome.runs):
        lines += ["", "## What hls.js did (stalled and INVALID runs, and one smooth run each)", *traces]
    lines += warnings_section(warnings)
    return "\n".join(lines) + "\n", overall


@contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """`count` processes spinning at normal priority while the block runs: competing load on every core."""
    loops = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP_CODE]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


# -- command line -------------------------------------------------------------------------------------------------


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, help=f"cold starts per implementation (default {DEFAULT_RUNS})")
    parser.add_argument("--playback", type=float, help=f"seconds of playback per run (default {DEFAULT_PLAYBACK_S:g})")
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke run: {QUICK_RUNS} runs each, {QUICK_PLAYBACK_S:g} s of playback"
    )
    parser.add_argument("--part", type=float, help="part target for both (default: each implementation's own)")
    parser.add_argument("--only", choices=("ours", "builtin"), help="measure one implementation only")
    parser.add_argument(
        "--size", type=parse_size, default=parse_size(DEFAULT_SIZE), help=f"camera size (default {DEFAULT_SIZE})"
    )
    parser.add_argument("--no-audio", action="store_true", help="camera without AAC audio")
    parser.add_argument(
        "--hls-debug", action="store_true", help="write each run's trace with hls.js's debug log to bench/results/"
    )
    parser.add_argument(
        "--hls-js", default=FRONTEND_HLS_JS, choices=HLS_JS_VERSIONS, help=f"hls.js version (default {FRONTEND_HLS_JS})"
    )
    parser.add_argument(
        "--keyframe", type=float, default=KEYFRAME_INTERVAL_S, help="camera keyframe interval s (default 1)"
    )
    parser.add_argument("--loaded", action="store_true", help=f"{BUSY_LOOPS} busy-loop processes for the whole run")
    parser.add_argument("--serve", choices=INTEGRATIONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.runs = args.runs or (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    args.playback = args.playback or (QUICK_PLAYBACK_S if args.quick else DEFAULT_PLAYBACK_S)
    if args.runs < 1 or not math.isfinite(args.playback) or args.playback <= 0:
        parser.error("--runs and --playback must be positive")
    return args


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    setup_logging()
    if args.serve:
        asyncio.run(serve(args.serve, args.part))
        return 0

    integrations: tuple[StreamIntegration, ...] = (
        INTEGRATIONS if args.only is None else ("ours",) if args.only == "ours" else ("built-in",)
    )
    width, height = args.size
    config = Config(
        args.runs,
        args.playback,
        args.part,
        integrations,
        width,
        height,
        audio=not args.no_audio,
        hls_debug=args.hls_debug,
        hls_version=args.hls_js,
        keyframe_s=args.keyframe,
        loaded=args.loaded,
    )
    machine = Machine()
    with busy_loops(BUSY_LOOPS if args.loaded else 0):
        outcome = asyncio.run(benchmark(config))
    text, overall = report(config, argv, outcome, machine=machine)
    publish(
        "latency",
        text,
        ("-quick", args.quick),
        (f"-part{args.part:g}" if args.part is not None else "", args.part is not None),
        (f"-{args.only}" if args.only else "", args.only is not None),
        (f"-{width}x{height}", (width, height) != parse_size(DEFAULT_SIZE)),
        ("-noaudio", args.no_audio),
        (f"-hlsjs{args.hls_js}", args.hls_js != FRONTEND_HLS_JS),
        (f"-kf{args.keyframe:g}", args.keyframe != KEYFRAME_INTERVAL_S),
        ("-loaded", args.loaded),
    )
    return 1 if overall in {"FAIL", "INVALID"} else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
