"""Headless Chromium, a static file server and the hls.js player driver, usable with or without pytest.

Chromium runs as a plain process with a DevTools port, independent of any event loop; playwright attaches to it over
CDP from whichever loop the caller runs on. That lets one browser serve a whole pytest session although each test
(and Home Assistant's `hass` fixture) has a loop of its own.

Typical use outside pytest (bench scripts)::

    async with open_browser() as browser, serve_directory(ASSETS_DIR) as assets:
        context = await browser.new_context()
        player = await open_hls_player(await context.new_page(), assets.base_url, "http://127.0.0.1:8123/...")
        await player.wait_for_first_frame()
"""

from __future__ import annotations

import contextlib
import math
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import numpy as np
from aiohttp import web
from numpy.typing import NDArray
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tests.killed_child import KilledOnStop

CHROMIUM_PATH = Path("/usr/bin/chromium")
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
PLAYER_PAGE = "hls_player.html"
# hls.js versions vendored by scripts/setup (scripts/npm-packages.txt): the frontend's (also vendor/hls.min.js) first.
FRONTEND_HLS_JS = "1.7.3"
HLS_JS_VERSIONS = (FRONTEND_HLS_JS, "1.6.19")

# Measured to work here (see .library machines/python.md): root needs --no-sandbox; the background-networking flags
# stop Chromium from calling out of a machine with no network; autoplay without a user gesture for the player.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    # WebRTC tests run on a private loopback: let Chromium offer loopback host candidates, unobfuscated by mDNS.
    # It offers them only to a page granted camera or microphone permission (otherwise only the default route's
    # address, and the private loopback has no route): `await context.grant_permissions(["camera", "microphone"])`.
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
)
_STARTUP_TIMEOUT_S = 30.0
_READINESS_POLL_S = 0.02


class BrowserStartError(RuntimeError):
    """Chromium did not come up; the message carries its stderr."""


class ChromiumProcess(KilledOnStop):
    """A headless Chromium with a DevTools endpoint on 127.0.0.1, killed on `stop()` (also via `with`)."""

    def __init__(
        self,
        user_data_dir: Path,
        *,
        executable: Path = CHROMIUM_PATH,
        extra_args: Sequence[str] = (),
        startup_timeout: float = _STARTUP_TIMEOUT_S,
    ) -> None:
        self.user_data_dir = user_data_dir
        self.stderr_path = user_data_dir.parent / f"{user_data_dir.name}.stderr.log"
        user_data_dir.mkdir(parents=True, exist_ok=True)
        # stderr goes to a file: an undrained pipe would block Chromium once it filled up.
        with self.stderr_path.open("wb") as stderr:
            self._process = subprocess.Popen(
                [
                    str(executable),
                    *CHROMIUM_FLAGS,
                    *extra_args,
                    f"--user-data-dir={user_data_dir}",
                    "--remote-debugging-address=127.0.0.1",
                    "--remote-debugging-port=0",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            self.cdp_url = self._wait_for_devtools(startup_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_for_devtools(self, timeout: float) -> str:
        # Chromium writes the port it picked to DevToolsActivePort once the endpoint listens.
        port_file = self.user_data_dir / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise self._exited()
            with contextlib.suppress(FileNotFoundError):
                lines = port_file.read_text().splitlines()
                if lines and lines[0].isdigit():
                    return f"http://127.0.0.1:{lines[0]}"
            time.sleep(_READINESS_POLL_S)
        raise BrowserStartError(f"Chromium opened no DevTools port within {timeout} s:\n{self.stderr_tail()}")

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def check_running(self) -> None:
        """Raise with Chromium's stderr if it has died (a crash in an earlier test, say)."""
        if not self.is_running():
            raise self._exited()

    def _exited(self) -> BrowserStartError:
        status = self._process.returncode if self._process is not None else None
        return BrowserStartError(f"Chromium exited with {status}:\n{self.stderr_tail()}")

    def stderr_tail(self, max_chars: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-max_chars:]
        except FileNotFoundError:
            return ""


@contextlib.asynccontextmanager
async def connect_browser(process: ChromiumProcess) -> AsyncIterator[Browser]:
    """Attach playwright to a running Chromium on the current event loop; detaches (browser stays up) on exit."""
    process.check_running()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(process.cdp_url)
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def open_browser(*, extra_args: Sequence[str] = ()) -> AsyncIterator[Browser]:
    """Start a private Chromium (own user-data-dir) and attach to it; everything is gone on exit."""
    with contextlib.ExitStack() as stack:
        temp_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chromium-")))
        process = stack.enter_context(ChromiumProcess(temp_dir / "profile", extra_args=extra_args))
        async with connect_browser(process) as browser:
            yield browser


# --- Static file server -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaticServer:
    """A directory served over HTTP on 127.0.0.1."""

    root: Path
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"


def _cors_headers() -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "*",
        "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    }


def _headers_middleware(*, cors: bool) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if cors and request.method == "OPTIONS":
            return web.Response(status=204, headers=_cors_headers())
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        # Tests rewrite files between requests (live-like playlists): never let the browser cache them.
        response.headers["Cache-Control"] = "no-store"
        if cors:
            response.headers.update(_cors_headers())
        return response

    return middleware


@contextlib.asynccontextmanager
async def serve_directory(root: Path, *, cors: bool = False) -> AsyncIterator[StaticServer]:
    """Serve `root` on a free 127.0.0.1 port; with `cors`, every response allows any origin (as HA's views do)."""
    app = web.Application(middlewares=[_headers_middleware(cors=cors)])
    app.router.add_static("/", root)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = cast(tuple[str, int], sock.getsockname())[1]
        await web.SockSite(runner, sock).start()
        yield StaticServer(root=root, port=port)
    finally:
        await runner.cleanup()


# --- hls.js player driver -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayerError:
    """One hls.js ERROR event (or a media element error, type `mediaError`)."""

    type: str
    details: str
    fatal: bool


@dataclass(frozen=True)
class PlayerState:
    """A snapshot of `window.player` in the page. Times in ms: `*_at_ms` on performance.now(), `*_wall_ms` epoch."""

    src: str
    hls_version: str
    low_latency: bool | None
    current_time: float
    duration: float | None
    ended: bool
    started_at_ms: float
    started_at_wall_ms: float
    first_frame_at_ms: float | None
    first_frame_at_wall_ms: float | None
    stalls: int
    waiting_events: int
    buffer_stalled_errors: int
    errors: tuple[PlayerError, ...]
    error_count: int
    fatal: bool
    latency: float | None
    buffer_ahead: float
    frames_decoded: int
    dropped_frames: int
    frames_presented: int
    timecodes: tuple[int, ...]
    latency_samples_ms: tuple[float, ...]
    timecode_rejects: int
    timecode_error: str | None
    latency_median_ms: float | None
    latency_p95_ms: float | None
    media_requests: int
    repeated_media_loads: int  # media URLs fetched again, or a segment fetched after one of its parts

    @property
    def time_to_first_frame_ms(self) -> float | None:
        if self.first_frame_at_ms is None:
            return None
        return self.first_frame_at_ms - self.started_at_ms

    @property
    def fatal_errors(self) -> tuple[PlayerError, ...]:
        return tuple(error for error in self.errors if error.fatal)

    def summary(self) -> str:
        errors = ", ".join(f"{e.type}/{e.details}{' (fatal)' if e.fatal else ''}" for e in self.errors[-5:])
        return (
            f"currentTime={self.current_time:.2f}s firstFrame={self.time_to_first_frame_ms} "
            f"framesDecoded={self.frames_decoded} stalls={self.stalls} fatal={self.fatal} "
            f"hls.js={self.hls_version} repeatedMediaLoads={self.repeated_media_loads}/{self.media_requests} "
            f"errors[{self.error_count}]=[{errors}] latencySamples={len(self.latency_samples_ms)} "
            f"timecodeError={self.timecode_error}"
        )

    @classmethod
    def from_js(cls, raw: Mapping[str, Any]) -> PlayerState:
        def optional_float(key: str) -> float | None:
            value = raw[key]
            return None if value is None else float(value)

        return cls(
            src=str(raw["src"]),
            hls_version=str(raw["hlsVersion"]),
            low_latency=raw["lowLatency"],
            current_time=float(raw["currentTime"]),
            duration=optional_float("duration"),
            ended=bool(raw["ended"]),
            started_at_ms=float(raw["startedAt"]),
            started_at_wall_ms=float(raw["startedAtWall"]),
            first_frame_at_ms=optional_float("firstFrameAt"),
            first_frame_at_wall_ms=optional_float("firstFrameAtWall"),
            stalls=int(raw["stalls"]),
            waiting_events=int(raw["waitingEvents"]),
            buffer_stalled_errors=int(raw["bufferStalledErrors"]),
            errors=tuple(PlayerError(str(e["type"]), str(e["details"]), bool(e["fatal"])) for e in raw["errors"]),
            error_count=int(raw["errorCount"]),
            fatal=bool(raw["fatal"]),
            latency=optional_float("latency"),
            buffer_ahead=float(raw["bufferAhead"]),
            frames_decoded=int(raw["framesDecoded"]),
            dropped_frames=int(raw["droppedFrames"]),
            frames_presented=int(raw["framesPresented"]),
            timecodes=tuple(int(value) for value in raw["timecodes"]),
            latency_samples_ms=tuple(float(value) for value in raw["latencySamples"]),
            timecode_rejects=int(raw["timecodeRejects"]),
            timecode_error=raw["timecodeError"],
            latency_median_ms=optional_float("latencyMedian"),
            latency_p95_ms=optional_float("latencyP95"),
            media_requests=int(raw["mediaRequests"]),
            repeated_media_loads=int(raw["repeatedMediaLoads"]),
        )


class HlsPlayerError(AssertionError):
    """The player failed (fatal error) or did not reach a state in time; carries the last state it was in."""

    def __init__(self, message: str, state: PlayerState | None, console: Sequence[str] = ()) -> None:
        details = state.summary() if state else "no player state"
        console_tail = "\n".join(console[-20:])
        super().__init__(f"{message}: {details}" + (f"\nbrowser console:\n{console_tail}" if console_tail else ""))
        self.state = state


class HlsPlayerDriver:
    """Reads and waits on the state of `hls_player.html` in a page (see tests/assets/hls_player.js)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        # Console errors, warnings and uncaught exceptions, for failure messages.
        self.console: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            self.console.append(f"{message.type}: {message.text}")

    async def state(self) -> PlayerState:
        return PlayerState.from_js(await self.page.evaluate("() => window.player.snapshot()"))

    async def clear_samples(self) -> None:
        """Forget timecodes and latency samples so far (after a warm-up, say)."""
        await self.page.evaluate("() => window.player.clearSamples()")

    async def wait_for(self, predicate: str, arg: object = None, *, timeout_s: float, what: str) -> PlayerState:
        """Wait until the JS `predicate(player, arg)` holds; raise HlsPlayerError on a fatal error or timeout."""
        try:
            await self.page.wait_for_function(
                f"([arg]) => window.player.fatal || ({predicate})(window.player, arg)",
                arg=[arg],
                timeout=timeout_s * 1000,
                polling=50,
            )
        except PlaywrightTimeoutError:
            raise HlsPlayerError(
                f"timed out after {timeout_s} s waiting for {what}", await self._safe_state(), self.console
            ) from None
        state = await self.state()
        if state.fatal:
            raise HlsPlayerError(f"fatal player error while waiting for {what}", state, self.console)
        return state

    async def wait_for_first_frame(self, timeout_s: float = 20.0) -> PlayerState:
        return await self.wait_for("(p) => p.firstFrameAt !== null", timeout_s=timeout_s, what="the first frame")

    async def wait_for_playback(self, seconds: float, timeout_s: float = 30.0) -> PlayerState:
        """Wait until currentTime has advanced by at least `seconds` from now."""
        start = (await self.state()).current_time
        return await self.wait_for(
            "(p, target) => p.currentTime >= target",
            start + seconds,
            timeout_s=timeout_s,
            what=f"playback to advance {seconds} s past {start:.2f} s",
        )

    async def wait_for_latency_samples(self, count: int, timeout_s: float = 30.0) -> PlayerState:
        return await self.wait_for(
            "(p, n) => p.latencySamples.length >= n", count, timeout_s=timeout_s, what=f"{count} latency samples"
        )

    async def _safe_state(self) -> PlayerState | None:
        try:
            return await self.state()
        except PlaywrightError:
            return None


def player_url(
    asset_base_url: str,
    src: str,
    *,
    low_latency: bool | None = True,
    decode_timecode: bool = True,
    samples: int = 600,
    hls_version: str | None = None,
) -> str:
    """URL of the player page, with the frontend's hls.js settings; `low_latency=None` keeps their lowLatencyMode,
    `hls_version` picks a vendored hls.js (tests/assets/vendor/hls-<version>.min.js) over the frontend's."""
    params = {"src": src, "tc": "1" if decode_timecode else "0", "samples": str(samples)}
    if low_latency is not None:
        params["ll"] = "1" if low_latency else "0"
    if hls_version is not None:
        params["hls"] = hls_version
    return f"{asset_base_url.rstrip('/')}/{PLAYER_PAGE}?{urlencode(params)}"


async def open_hls_player(
    page: Page,
    asset_base_url: str,
    src: str,
    *,
    low_latency: bool | None = True,
    decode_timecode: bool = True,
    samples: int = 600,
    hls_version: str | None = None,
) -> HlsPlayerDriver:
    """Load the player page (served from `asset_base_url`) playing `src`; returns once `window.player` exists."""
    driver = HlsPlayerDriver(page)
    url = player_url(
        asset_base_url,
        src,
        low_latency=low_latency,
        decode_timecode=decode_timecode,
        samples=samples,
        hls_version=hls_version,
    )
    await page.goto(url)
    await page.wait_for_function("() => window.player !== undefined", timeout=10_000)
    return driver


# --- Helpers for timecoded test media -----------------------------------------------------------------------------

TIMECODE_BITS = 32


def timecode_band_height(frame_height: int) -> int:
    """Rows of the timecode band at the top of a frame (the simulator's and the page's shared convention)."""
    return max(16, frame_height // 24)


def paint_timecode(luma: NDArray[np.uint8], value: int) -> None:
    """Write `value` (mod 2**32) into the band of a luma plane (a numpy uint8 array, H x W), MSB first."""
    height, width = luma.shape
    band = timecode_band_height(height)
    value %= 1 << TIMECODE_BITS
    for i in range(TIMECODE_BITS):
        bit = (value >> (TIMECODE_BITS - 1 - i)) & 1
        luma[:band, i * width // TIMECODE_BITS : (i + 1) * width // TIMECODE_BITS] = 235 if bit else 16


def wall_clock_timecode() -> int:
    """Now as the simulator stamps it: wall-clock ms since the epoch, mod 2**32."""
    return time.time_ns() // 1_000_000 % (1 << TIMECODE_BITS)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile (`fraction` in [0, 1]), the same rule as the page's helpers."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
