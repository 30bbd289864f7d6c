"""Frontend benchmark: cold opens of a live camera card in Home Assistant's own frontend, ours against the built-in.

Home Assistant runs as users run it (tests/real_ha.py: its own process, the frontend package, an `ffmpeg` camera on
the RTSP simulator); the frontend is opened signed in, in headless Chromium, on the `picture-entity` live card of
tests/test_frontend.py, whose tests/assets/frontend_probe.js follows the player `ha-camera-stream` shows and reads
the simulator's timecode from every frame it presents. Three cases, same simulator, same run:

- **H.264, ours**: 1280x720 30 fps, AAC, a keyframe every second (tests/test_frontend.py's camera). Expected: HLS
  and WebRTC start side by side and the card ends on WebRTC.
- **H.264, built-in**: the same camera with Home Assistant's built-in `stream` (no WebRTC: LL-HLS with hls.js).
- **H.265, ours**: the small H.265 camera of tests/test_frontend.py. Chromium decodes no H.265, so the card must end
  on the frontend's MJPEG fallback picture, moving, with no error alert.

A **cold open** is a fresh Home Assistant start (new process and config dir: the camera is cold, nothing streams)
followed, as soon as it reports RUNNING and the dashboard is saved, by a fresh page navigation in a new browser
context (no cache). Ours keeps its codec memory warm as after an earlier run: every start of ours gets the
`.storage/stream.known_sources` written by a first, unmeasured start of the same camera (a config dir cannot simply
be reused: its onboarding is done, and tests/real_ha.py onboards a new user at every start). That first-ever start
of each case (nothing known yet: ours learns the codec in the background while the frontend loads) is shown apart
and not counted. The H.264 camera's encoder is kept running by a background viewer (bench/common/cameras.py's
CameraViewer), so Home Assistant joins it mid-GOP as it would join a real camera; the H.265 one starts with its
first client. The cases rotate round by round so that machine noise hits all alike.

Per open, times from the start of the page's navigation (performance.now() of the page):
- frontend loaded: the card element (`hui-picture-entity-card`) exists in the page;
- first frame: the first frame the shown player presents, whatever the player;
- WebRTC shown: the first frame presented while `ha-web-rtc-player` is the player shown (the frontend shows HLS first
  and switches when WebRTC has video), also counted from "frontend loaded";
- the player shown at the end, and the players shown in between;
- glass to glass: for every frame presented, the page's wall clock minus the capture time burnt into the frame, over
  PLAY_MS of camera time of the player shown at the end (the samples of the player shown at the end, once shown);
- offer -> answer: the page's WebSocket is wrapped (an init script) to note when `camera/webrtc/offer` is sent and
  when its `answer` event (or an `error` event) arrives;
- a moving picture: the player shown at the end covered PLAY_MS of camera time in at least 2 distinct frames per
  second (at most 1 in 50 read back in time: a damaged band), and no `ha-alert` showed in the card's players after
  the first frame.

STUN: Home Assistant gives both WebRTC peers its ICE servers; its default STUN server (stun.home-assistant.io) cannot
be reached from the sandbox, and our side waits for it up to its 0.8 s gathering cap before it answers. So by default
a local coturn serves STUN instead (`web_rtc: ice_servers:`, every case), as the default one would in a home with
internet; `--stun default` keeps the unreachable default.

Targets (issue 12): H.264 card, ours: first WebRTC frame <= 1.5 s after the frontend has loaded (median; runs over
counted), glass-to-glass median <= 0.15 s (pooled samples), offer -> answer <= 0.3 s (median); H.265 card: a moving
picture in every open. The exit status is 1 when a target is missed or an open failed.

Run (the report is also written to bench/results/frontend-<date>[-quick][-default-stun].md):

    scripts/sandbox --private-net python bench/frontend.py           # 10 cold opens per case: ~13 min
    scripts/sandbox --private-net python bench/frontend.py --quick   # 3 per case: ~5 min
    scripts/sandbox --private-net python bench/frontend.py --runs 5
    scripts/sandbox --private-net python bench/frontend.py --quick --stun default

`--private-net` gives the sandbox's loopback the second address (10.77.0.1) that WebRTC needs: Home Assistant's
aioice never offers 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

if (_PROJECT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _PROJECT)  # run as a script: our `custom_components`, not pytest-homeassistant's empty one

from playwright.async_api import Browser

from bench.common.browser import VIEWPORT_HEIGHT, VIEWPORT_WIDTH, fresh_context
from bench.common.cameras import CameraViewer, simulator
from bench.common.real_ha import logged_problems, new_config_dir, stream_types, stun_server, wait_for_file
from bench.common.report import Machine, fmt, head, publish, ratio, table_head, warnings_section
from bench.common.stats import median, per_run, percentile_or_none, pooled, seconds, worst
from tests.browser_harness import open_browser
from tests.real_ha import FfmpegCamera, HomeAssistantConfig, RunningHomeAssistant, start_home_assistant
from tests.simulator import CameraSimulator
from tests.test_frontend import (
    CAMERAS,
    CARD,
    DASHBOARD,
    H264_CAMERA,
    H265_CAMERA,
    PLAY_MS,
    FrontendPage,
    ProbeResult,
    _save_dashboard,
)

DEFAULT_RUNS = 10
QUICK_RUNS = 3
OPEN_TIMEOUT_S = 45.0  # navigation -> PLAY_MS of camera time on the player shown; past this the picture is not moving
POLL_MS = 500
STORE_TIMEOUT_S = 20.0  # ours writes its codec memory 10 s after learning; the first start waits for the file
SETTLE_S = 1.0  # after a stopped Home Assistant, before the next start
CAMERA_WARM_FRAMES = 60
MIN_FPS_MOVING = 2  # distinct frames per second of camera time for a moving picture
KNOWN_SOURCES = Path(".storage") / "stream.known_sources"
# The probe's plausible glass-to-glass range (ms): outside it a read is not a timecode (tests/assets/frontend_probe.js).
PLAUSIBLE_MS = (-2000.0, 120000.0)

WEBRTC_AFTER_LOAD_TARGET_S = 1.5
LATENCY_MEDIAN_TARGET_S = 0.15
OFFER_ANSWER_TARGET_S = 0.3


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    mount: str
    camera: str
    our_stream: bool

    @property
    def stream_logger(self) -> str:
        return "custom_components.stream" if self.our_stream else "homeassistant.components.stream"


OURS_H264 = Case("ours-h264", "H.264 card, ours", "h264", H264_CAMERA, our_stream=True)
BUILTIN_H264 = Case("builtin-h264", "H.264 card, built-in", "h264", H264_CAMERA, our_stream=False)
OURS_H265 = Case("ours-h265", "H.265 card, ours", "h265", H265_CAMERA, our_stream=True)
CASES = (OURS_H264, BUILTIN_H264, OURS_H265)

# Installed in every page before the frontend loads (a context init script, so before FrontendPage.open's own):
# - the WebSocket is wrapped: `camera/webrtc/offer` sent, and its answer or error event received, are timestamped
#   (Home Assistant may send several messages as one JSON array);
# - the card element's first appearance is noted (deep search through shadow roots every 20 ms until found);
# - window.streamTimecode.latencyMs (tests/assets/timecode.js), which the probe calls once per frame of the shown
#   player it reads, is wrapped to keep every sample (the probe's summary has only each player's median and p95).
BENCH_JS = """
(() => {
  if (window.top !== window) return;
  const bench = { cardAt: null, offers: [], samples: [], errors: [] };
  window.frontendBench = bench;

  const guarded = (handler) => (data) => {
    try {
      handler(data);
    } catch (error) {
      bench.errors.push(String(error));
    }
  };
  const onSend = guarded((data) => {
    if (typeof data !== "string" || !data.includes("camera/webrtc/offer")) return;
    const message = JSON.parse(data);
    if (message.type === "camera/webrtc/offer") {
      bench.offers.push({ id: message.id, sentAt: performance.now(), answerAt: null, error: null });
    }
  });
  const onReceive = guarded((data) => {
    if (bench.offers.length === 0 || typeof data !== "string") return;
    if (!data.includes('"answer"') && !data.includes('"error"') && !data.includes('"success":false')) return;
    const parsed = JSON.parse(data);
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      const offer = bench.offers.find((candidate) => candidate.id === message.id);
      if (!offer) continue;
      if (message.type === "event" && message.event.type === "answer" && offer.answerAt === null) {
        offer.answerAt = performance.now();
      } else if (message.type === "event" && message.event.type === "error" && offer.error === null) {
        offer.error = `${message.event.code}: ${message.event.message}`;
      } else if (message.type === "result" && !message.success && offer.error === null) {
        offer.error = JSON.stringify(message.error);
      }
    }
  });
  const NativeWebSocket = window.WebSocket;
  const send = NativeWebSocket.prototype.send;
  NativeWebSocket.prototype.send = function (data) {
    onSend(data);
    return send.call(this, data);
  };
  window.WebSocket = new Proxy(NativeWebSocket, {
    construct(target, args, newTarget) {
      const socket = Reflect.construct(target, args, newTarget);
      socket.addEventListener("message", (event) => onReceive(event.data));
      return socket;
    },
  });

  function* deepElements(root) {
    for (const element of root.querySelectorAll("*")) {
      yield element;
      if (element.shadowRoot) yield* deepElements(element.shadowRoot);
    }
  }
  const cardTimer = setInterval(() => {
    for (const element of deepElements(document)) {
      if (element.tagName === "CARD_TAG") {
        bench.cardAt = performance.now();
        clearInterval(cardTimer);
        return;
      }
    }
  }, 20);

  const wrap = (timecode) => {
    const latencyMs = timecode.latencyMs;
    timecode.latencyMs = (nowMs, value) => {
      const latency = latencyMs(nowMs, value);
      bench.samples.push([performance.now(), value, latency]);
      return latency;
    };
    return timecode;
  };
  if (window.streamTimecode) {
    wrap(window.streamTimecode);
  } else {
    let timecode;
    Object.defineProperty(window, "streamTimecode", {
      configurable: true,
      get: () => timecode,
      set: (value) => {
        timecode = wrap(value);
      },
    });
  }
})();
""".replace("CARD_TAG", CARD.upper())


# -- one cold open ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    sent_at_ms: float
    answer_at_ms: float | None
    error: str | None

    @property
    def answer_s(self) -> float | None:
        return None if self.answer_at_ms is None else (self.answer_at_ms - self.sent_at_ms) / 1000


@dataclass
class ColdOpen:
    case: Case
    number: int  # 1-based; 0: the first-ever start (not counted)
    load1: float  # the 1-minute load average when the open began
    start_s: float | None = None  # Home Assistant process started -> RUNNING (onboarded)
    stream_types: list[str] = field(default_factory=list)  # camera/capabilities just before the navigation
    probe: ProbeResult | None = None
    card_at_ms: float | None = None
    offers: list[Offer] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)  # the end player's samples
    problems: list[str] = field(default_factory=list)  # what the stream integration logged (WARNING and up)
    failure: str | None = None  # the open could not be measured (Home Assistant did not start, ...)
    page_errors: list[str] = field(default_factory=list)  # exceptions in the bench's own page instrumentation
    known_sources: Path | None = None  # ours' codec memory as the first-ever start left it

    @property
    def shown(self) -> str | None:
        return None if self.probe is None else self.probe.shown

    @property
    def path(self) -> str:
        """The players shown in turn, e.g. `hls > webrtc`."""
        if self.probe is None:
            return "-"
        players = [player or "none" for _, player in self.probe.transitions]
        return " > ".join(players) or "none"

    @property
    def loaded_s(self) -> float | None:
        return seconds(self.card_at_ms)

    @property
    def first_frame_s(self) -> float | None:
        return None if self.probe is None else seconds(self.probe.first_frame_at_ms)

    @property
    def webrtc_s(self) -> float | None:
        figures = None if self.probe is None else self.probe.players.get("webrtc")
        return None if figures is None else figures.first_frame_at_ms / 1000

    @property
    def webrtc_after_load_s(self) -> float | None:
        webrtc, loaded = self.webrtc_s, self.loaded_s
        return None if webrtc is None or loaded is None else webrtc - loaded

    @property
    def first_frame_after_load_s(self) -> float | None:
        first, loaded = self.first_frame_s, self.loaded_s
        return None if first is None or loaded is None else first - loaded

    @property
    def offer_sent_s(self) -> float | None:
        return self.offers[0].sent_at_ms / 1000 if self.offers else None

    @property
    def offer_answer_s(self) -> float | None:
        return self.offers[0].answer_s if self.offers else None

    @property
    def latency_median_s(self) -> float | None:
        return seconds(percentile_or_none(self.latency_ms, 0.5))

    @property
    def latency_p95_s(self) -> float | None:
        return seconds(percentile_or_none(self.latency_ms, 0.95))

    @property
    def alerts(self) -> list[str]:
        return [] if self.probe is None else self.probe.alerts_after_first_frame()

    @property
    def moving(self) -> bool:
        if self.probe is None or self.shown is None or self.shown not in self.probe.players:
            return False
        figures = self.probe.players[self.shown]
        return (
            figures.span_ms >= PLAY_MS
            and figures.frames >= PLAY_MS / 1000 * MIN_FPS_MOVING
            and figures.backwards <= figures.frames // 50
            and not self.alerts
        )


def _end_player_samples(probe: ProbeResult, samples: Sequence[Sequence[float]]) -> list[float]:
    """Glass-to-glass samples (ms) of the player shown at the end, from when it was shown: each raw sample belongs to
    the player the probe had shown at that moment; implausible reads and repeats of a frame dropped, as the probe
    does."""
    kept: list[float] = []
    last_timecode: float | None = None
    for at, timecode, latency in samples:
        shown = None
        for since, player in probe.transitions:
            if since <= at:
                shown = player
        if shown != probe.shown or not PLAUSIBLE_MS[0] <= latency <= PLAUSIBLE_MS[1] or timecode == last_timecode:
            continue
        last_timecode = timecode
        kept.append(latency)
    return kept


async def _watch(page: FrontendPage) -> tuple[ProbeResult, dict[str, Any]]:
    """Until the player shown has covered PLAY_MS of camera time (or OPEN_TIMEOUT_S after the navigation)."""
    with contextlib.suppress(Exception):
        await page.page.wait_for_function(
            """(ms) => {
                const shown = window.frontendProbe.summary().shown;
                return shown !== null && window.frontendProbe.spanOf(shown) >= ms;
            }""",
            arg=PLAY_MS,
            timeout=max(1.0, OPEN_TIMEOUT_S * 1000 - await page.page.evaluate("performance.now()")),
            polling=POLL_MS,
        )
    bench = cast(dict[str, Any], await page.page.evaluate("() => window.frontendBench"))
    return await page.result(), bench


async def cold_open(
    case: Case,
    number: int,
    camera_url: str,
    browser: Browser,
    work_dir: Path,
    *,
    known_sources: Path | None,
    extra: Mapping[str, Any],
) -> ColdOpen:
    run = ColdOpen(case, number, os.getloadavg()[0])
    camera = FfmpegCamera(case.camera, camera_url)
    config = HomeAssistantConfig(cameras=(camera,), our_stream=case.our_stream, log_levels={}, extra=extra)
    seeds = {} if known_sources is None else {KNOWN_SOURCES: known_sources}
    config_dir = await asyncio.to_thread(new_config_dir, work_dir, f"{case.key}-{number}-", seeds)
    ha: RunningHomeAssistant | None = None
    began = time.monotonic()
    try:
        ha = await asyncio.to_thread(start_home_assistant, config, config_dir)
        run.start_s = time.monotonic() - began
        await _save_dashboard(ha, camera.entity_id)
        run.stream_types = await stream_types(ha, camera.entity_id)
        async with fresh_context(browser) as context:
            await context.add_init_script(BENCH_JS)
            page = await FrontendPage.open(context, ha, f"/{DASHBOARD}/camera", CARD)
            run.probe, bench = await _watch(page)
        run.card_at_ms = bench["cardAt"]
        run.page_errors = [str(error) for error in bench["errors"]]
        run.offers = [Offer(o["sentAt"], o["answerAt"], o["error"]) for o in bench["offers"]]
        run.latency_ms = _end_player_samples(run.probe, bench["samples"])
        if number == 0 and case.our_stream:
            await wait_for_file(config_dir / KNOWN_SOURCES, STORE_TIMEOUT_S, "the first start")
            run.known_sources = config_dir / KNOWN_SOURCES
    except Exception as error:  # an open that fails is reported, the others still run
        run.failure = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
    finally:
        if ha is not None:
            await asyncio.to_thread(ha.stop)
            run.problems = logged_problems(ha, case.stream_logger)
    return run


def _run_line(run: ColdOpen) -> str:
    where = f"{run.case.key:12} {'first-ever' if run.number == 0 else f'run {run.number:2}'}"
    if run.failure is not None:
        return f"  {where}: FAILED: {run.failure}"
    answer = run.offer_answer_s
    return (
        f"  {where}: start {fmt(run.start_s, '.1f')} s, offers {run.stream_types}; loaded {fmt(run.loaded_s, '.2f')},"
        f" first frame {fmt(run.first_frame_s, '.2f')}, WebRTC {fmt(run.webrtc_s, '.2f')} s; {run.path};"
        f" glass to glass {fmt(run.latency_median_s, '.3f')}/{fmt(run.latency_p95_s, '.3f')} s;"
        f" offer->answer {fmt(None if answer is None else answer * 1000, '.0f')} ms;"
        f" {'moving' if run.moving else 'NOT MOVING'}" + (f"; alerts {run.alerts}" if run.alerts else "")
    )


# -- the benchmark ------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    runs: list[ColdOpen]
    first_ever: list[ColdOpen]
    camera_fps: float | None
    chromium_version: str
    stun: str  # what the report says about the STUN server
    warnings: list[str]


async def open_all(
    browser: Browser, simulator: CameraSimulator, work_dir: Path, extra: Mapping[str, Any], runs: int
) -> tuple[list[ColdOpen], list[ColdOpen]]:
    """The first-ever start of each case (it seeds ours' codec memory), then `runs` rounds of cold opens."""
    seeds: dict[str, Path] = {}

    async def one(case: Case, number: int) -> ColdOpen:
        run = await cold_open(
            case, number, simulator.url(case.mount), browser, work_dir, known_sources=seeds.get(case.key), extra=extra
        )
        print(_run_line(run), flush=True)
        await asyncio.sleep(SETTLE_S)
        return run

    print("First-ever start of each case (not counted; ours learns the codec):", flush=True)
    first_ever: list[ColdOpen] = []
    for case in CASES:
        run = await one(case, 0)
        first_ever.append(run)
        if case.our_stream:
            if run.known_sources is None:
                raise SystemExit(f"{case.key}: the first start left no {KNOWN_SOURCES}: {run.failure}")
            seeds[case.key] = run.known_sources
    print(f"Measured: {runs} cold opens per case, rotating", flush=True)
    measured: list[ColdOpen] = []
    for round_index in range(runs):
        shift = round_index % len(CASES)
        for case in CASES[shift:] + CASES[:shift]:
            measured.append(await one(case, round_index + 1))
    return measured, first_ever


async def benchmark(runs: int, stun: str) -> Outcome:
    warnings: list[str] = []
    chromium_version: str | None = None
    mounts = {mount: CAMERAS[mount] for mount in ("h264", "h265")}
    async with simulator(mounts) as camera, CameraViewer(camera.url("h264")) as viewer:
        await viewer.wait_for_frames(CAMERA_WARM_FRAMES)
        since = time.time()
        with (
            tempfile.TemporaryDirectory(prefix="bench-frontend-") as work,
            stun_server(stun, Path(work)) as (extra, stun_text),
        ):
            try:
                async with open_browser() as browser:
                    measured, first_ever = await open_all(browser, camera, Path(work), extra, runs)
                    chromium_version = browser.version
            except Exception as error:
                # Every open measured: a failure while closing Chromium (seen once) must not lose the results.
                if chromium_version is None:
                    raise
                warnings.append(f"closing Chromium failed: {type(error).__name__}: {error}")
        camera_fps = viewer.delivered_fps(since)[0]
    return Outcome(measured, first_ever, camera_fps, chromium_version, stun_text, warnings)


# -- report -------------------------------------------------------------------------------------------------------


def _valid(outcome: Outcome, case: Case) -> list[ColdOpen]:
    return [run for run in outcome.runs if run.case == case and run.failure is None]


@dataclass(frozen=True)
class Figure:
    """A row: per case a typical value and the worst run; its target (for one case) and the verdict."""

    label: str
    typical: Callable[[list[ColdOpen]], float | None]
    worst: Callable[[list[ColdOpen]], float | None] | None
    spec: str = ".2f"
    ratio: bool = True  # ours/built-in for H.264
    counted: bool = False  # a number of opens, shown as N/opens
    target_case: Case | None = None
    target: Callable[[float | None, list[ColdOpen]], bool] | None = None
    target_text: str = ""


def _per_run(label: str, pick: Callable[[ColdOpen], float | None], **options: Any) -> Figure:
    """Median over the runs that have the figure, and the worst (highest) run."""

    return Figure(label, lambda runs: median(per_run(runs, pick)), _worst_of(pick), **options)


def _worst_of(pick: Callable[[ColdOpen], float | None]) -> Callable[[list[ColdOpen]], float | None]:
    return lambda runs: worst(per_run(runs, pick))


def _pooled(fraction: float) -> Callable[[list[ColdOpen]], float | None]:
    return lambda runs: pooled(runs, lambda run: run.latency_ms, fraction, per_unit=1000)


def _count(pick: Callable[[ColdOpen], bool]) -> Callable[[list[ColdOpen]], float | None]:
    return lambda runs: float(sum(pick(run) for run in runs))


def _at_most(limit: float) -> Callable[[float | None, list[ColdOpen]], bool]:
    return lambda value, _runs: value is not None and value <= limit


def _figures(runs: int) -> list[Figure]:
    return [
        _per_run("Home Assistant start s (process -> RUNNING, onboarded)", lambda run: run.start_s, ratio=False),
        _per_run("frontend loaded s (navigation -> card element exists)", lambda run: run.loaded_s),
        _per_run("first frame s (navigation -> first frame shown, any player)", lambda run: run.first_frame_s),
        _per_run("first frame s after the frontend loaded", lambda run: run.first_frame_after_load_s),
        _per_run("WebRTC shown s (navigation -> first frame of ha-web-rtc-player shown)", lambda run: run.webrtc_s),
        _per_run(
            "WebRTC shown s after the frontend loaded",
            lambda run: run.webrtc_after_load_s,
            target_case=OURS_H264,
            target=lambda value, opens: (
                value is not None
                and value <= WEBRTC_AFTER_LOAD_TARGET_S
                and all(run.webrtc_after_load_s is not None for run in opens)
            ),
            target_text=f"<= {WEBRTC_AFTER_LOAD_TARGET_S:g} (median; every open on WebRTC)",
        ),
        Figure(
            "glass to glass median s (pooled samples | worst run's median)",
            _pooled(0.5),
            _worst_of(lambda run: run.latency_median_s),
            spec=".3f",
            target_case=OURS_H264,
            target=_at_most(LATENCY_MEDIAN_TARGET_S),
            target_text=f"<= {LATENCY_MEDIAN_TARGET_S:g} (pooled)",
        ),
        Figure(
            "glass to glass p95 s (pooled samples | worst run's p95)",
            _pooled(0.95),
            _worst_of(lambda run: run.latency_p95_s),
            spec=".3f",
        ),
        _per_run(
            "offer -> answer s (camera/webrtc/offer sent -> answer event)",
            lambda run: run.offer_answer_s,
            spec=".3f",
            target_case=OURS_H264,
            target=_at_most(OFFER_ANSWER_TARGET_S),
            target_text=f"<= {OFFER_ANSWER_TARGET_S:g} (median)",
        ),
        Figure(
            "a moving picture, opens (frames advancing, whatever player; no ha-alert)",
            _count(lambda run: run.moving),
            None,
            spec="g",
            ratio=False,
            counted=True,
            target_case=OURS_H265,
            target=lambda value, opens: value is not None and value == runs and len(opens) == runs,
            target_text=f"{runs}/{runs}",
        ),
        Figure(
            "opens ending on WebRTC",
            _count(lambda run: run.shown == "webrtc"),
            None,
            spec="g",
            ratio=False,
            counted=True,
        ),
        Figure(
            "opens in which the frontend sent a WebRTC offer",
            _count(lambda run: bool(run.offers)),
            None,
            spec="g",
            ratio=False,
            counted=True,
        ),
        Figure(
            "opens in which the stream integration logged a warning or error",
            _count(lambda run: bool(run.problems)),
            None,
            spec="g",
            ratio=False,
            counted=True,
        ),
    ]


def summarize(outcome: Outcome, runs: int) -> tuple[str, list[str], bool]:
    """The table, the verdict lines, and whether every target was met."""
    by_case = {case: _valid(outcome, case) for case in CASES}
    header = (
        "| figure | H.264 ours | worst run | H.264 built-in | worst run | ours/built-in (H.264) "
        "| H.265 ours | worst run | target | verdict |"
    )
    lines = table_head(header)
    verdicts: list[str] = []
    passed = True
    for figure in _figures(runs):
        cells: list[str] = []
        typical: dict[Case, float | None] = {}
        text: dict[Case, str] = {}
        for case in CASES:
            opens = by_case[case]
            typical[case] = figure.typical(opens) if opens else None
            text[case] = fmt(typical[case], figure.spec) + (f"/{runs}" if figure.counted else "")
            cells.append(text[case])
            cells.append("" if figure.worst is None else fmt(figure.worst(opens) if opens else None, figure.spec))
        ratio_cell = ratio(typical[OURS_H264], typical[BUILTIN_H264]) if figure.ratio else ""
        verdict = ""
        if figure.target is not None and figure.target_case is not None:
            ok = figure.target(typical[figure.target_case], by_case[figure.target_case])
            passed = passed and ok
            verdict = f"**{'PASS' if ok else 'FAIL'}** ({figure.target_case.title})"
            verdicts.append(
                f"- {figure.label.split(' (')[0]}, {figure.target_case.title}: {'PASS' if ok else 'FAIL'}"
                f" ({text[figure.target_case]}; target {figure.target_text})"
            )
        lines.append(
            f"| {figure.label} | {cells[0]} | {cells[1]} | {cells[2]} | {cells[3]} | {ratio_cell} "
            f"| {cells[4]} | {cells[5]} | {figure.target_text} | {verdict} |"
        )
    return "\n".join(lines), verdicts, passed


def runs_table(runs: Sequence[ColdOpen]) -> str:
    header = (
        "| case | # | load (1 min) | HA start s | offered | loaded s | first frame s | WebRTC s | WebRTC after load s "
        "| players shown | end player: frames, camera s, back | glass to glass median / p95 s | offer sent s "
        "| offer -> answer s | moving | alerts, logged, failure |"
    )
    lines = table_head(header)
    for run in runs:
        figures = None if run.probe is None or run.shown is None else run.probe.players.get(run.shown)
        end = "-" if figures is None else f"{figures.frames}, {figures.span_ms / 1000:.1f}, {figures.backwards}"
        offer_errors = [offer.error for offer in run.offers if offer.error]
        notes = "; ".join(
            [*run.alerts, *(f"offer error {error}" for error in offer_errors), *run.problems, *run.page_errors]
            + ([f"FAILED: {run.failure}"] if run.failure else [])
        )
        lines.append(
            f"| {run.case.title} | {'first-ever' if run.number == 0 else run.number} | {run.load1:.2f} "
            f"| {fmt(run.start_s, '.1f')} | {', '.join(run.stream_types) or '-'} | {fmt(run.loaded_s, '.2f')} "
            f"| {fmt(run.first_frame_s, '.2f')} | {fmt(run.webrtc_s, '.2f')} | {fmt(run.webrtc_after_load_s, '.2f')} "
            f"| {run.path} | {end} | {fmt(run.latency_median_s, '.3f')} / {fmt(run.latency_p95_s, '.3f')} "
            f"| {fmt(run.offer_sent_s, '.2f')} | {fmt(run.offer_answer_s, '.3f')} "
            f"| {'yes' if run.moving else '**no**'} | {notes} |"
        )
    return "\n".join(lines)


def report(argv: Sequence[str], runs: int, outcome: Outcome, *, machine: Machine) -> tuple[str, bool]:
    table, verdicts, passed = summarize(outcome, runs)
    failed = [run for run in [*outcome.first_ever, *outcome.runs] if run.failure is not None]
    passed = passed and not failed
    odd = Counter(
        f"{run.case.title} ended on {run.shown or 'nothing'}"
        for run in outcome.runs
        if run.shown != ("hls" if run.case == BUILTIN_H264 else "webrtc" if run.case == OURS_H264 else "mjpeg")
    )
    h264, h265 = CAMERAS["h264"], CAMERAS["h265"]
    lines = [
        *head("Frontend benchmark", "frontend", argv),
        f"Cameras: the RTSP simulator, H.264 {h264.profile} {h264.width}x{h264.height} {h264.fps} fps, keyframe every"
        f" {h264.keyframe_interval:g} s, {h264.bitrate} kbit/s, AAC (its encoder kept running by a background viewer:"
        f" {fmt(outcome.camera_fps, '.1f')} fps delivered over the measured opens); H.265 {h265.width}x{h265.height}"
        f" {h265.fps} fps {h265.bitrate} kbit/s, no audio (encoder started by the first client). RTSP over TCP, Home"
        " Assistant's `ffmpeg` camera platform.  ",
        f"Frontend: Home Assistant's own (`picture-entity` card, `camera_view: live`) in headless Chromium"
        f" {outcome.chromium_version}, a new browser context per open, {VIEWPORT_WIDTH}x{VIEWPORT_HEIGHT}.  ",
        f"Runs: {runs} cold opens per case (fresh Home Assistant process and page navigation each), rotating between"
        " the cases; both integrations at their default settings. Ours starts with its codec memory"
        " (`.storage/stream.known_sources`) as a first, unmeasured start of the same camera left it; that first-ever"
        " start is shown apart below.  ",
        f"STUN server: {outcome.stun}.  ",
        machine.line(note="shared with other work while this ran (figures are noisy): "),
        "",
        'Times are from the start of the page\'s navigation; "frontend loaded" is when the card element'
        f" (`{CARD}`) exists. Glass to glass: the page's wall clock when a frame is presented minus the capture time"
        f" in the frame, over {PLAY_MS / 1000:g} s of camera time of the player shown at the end.",
        "",
        table,
        "",
        f"Targets: **{'PASS' if passed else 'FAIL'}**",
        "",
        *verdicts,
    ]
    if odd:
        lines += ["", "Opens that did not end on the expected player:", ""]
        lines += [f"- {text}: {count}" for text, count in odd.items()]
    lines += [
        "",
        "## First-ever start of each case (not counted)",
        "",
        "Nothing known yet: ours learns the camera's codec in a short background probe when the camera registers, and"
        " offers WebRTC once it is known (before that the card plays HLS).",
        "",
        runs_table(outcome.first_ever),
        "",
        "## Runs",
        "",
        runs_table(outcome.runs),
    ]
    if failed:
        lines += ["", "## Failures", "", *(f"- {run.case.title} {run.number}: {run.failure}" for run in failed)]
    lines += warnings_section(outcome.warnings)
    return "\n".join(lines) + "\n", passed


# -- command line -------------------------------------------------------------------------------------------------


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, help=f"cold opens per case (default {DEFAULT_RUNS})")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_RUNS} cold opens per case")
    parser.add_argument(
        "--stun",
        choices=("local", "default"),
        default="local",
        help="the STUN server Home Assistant gives both WebRTC peers: a local coturn (default) or Home Assistant's"
        " own default, which the sandbox cannot reach",
    )
    args = parser.parse_args(argv)
    args.runs = args.runs or (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    if args.runs < 1:
        parser.error("--runs must be positive")
    return args


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    machine = Machine()
    outcome = asyncio.run(benchmark(args.runs, args.stun))
    text, passed = report(argv, args.runs, outcome, machine=machine)
    publish("frontend", text, ("-quick", args.quick), ("-default-stun", args.stun == "default"))
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
