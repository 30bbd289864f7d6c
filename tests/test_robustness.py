"""Robustness (issue 14): what a long-running Home Assistant meets from cameras and clients, against the real worker,
Home Assistant's HTTP server and the RTSP camera simulator.

- a camera flapping 50 times (short drops and longer outages) under a playlist client: media back within seconds,
  every time (the times are printed with `-s`);
- damaged files and an HTTP source sending garbage as cameras: each is tried again and again, nothing logs a
  traceback, and a good camera beside them keeps playing;
- malformed HLS requests on a playing stream: 4xx, no traceback (the directive rules themselves are unit-tested in
  tests/unit/test_hls_views.py);
- 100 blocked LL-HLS clients when the camera stops, then when the stream stops: all answered at once;
- 20 cameras streamed and stopped four times: the memory in use comes back (issue 14 req. 4);
- after each, the threads, file descriptors, UDP sockets and event-loop tasks are back to what they were before, and
  resident memory stays within a bound.

Bounds are loose on purpose (a loaded 2-core CI machine); bench/recovery.py measures the figures.
"""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from custom_components.stream import Stream
from custom_components.stream.const import HLS_PROVIDER
from custom_components.stream.remux.media import Part, Segment
from tests.plugins.hls_player import HINT_URI, WAIT, OpenStream, PlaylistClient, flap, outage, play, stop_player
from tests.plugins.simulator import CameraSimulatorFactory
from tests.resources import Resources, resources, settle, trimmed_rss
from tests.simulator import CameraSimulator, CameraSpec
from tests.test_worker_damaged import make_mp4

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

CAMERA = {"cam": CameraSpec(width=320, height=240, fps=15)}
RSS_GROWTH_BOUND = 96 * 1024 * 1024  # a leak of buffers or decoders per run would pass it within the test
SHORT_DROP = 0.3
UP = 2.0  # how long the camera stays up between flaps, counted from its return
LONG_OUTAGES = (1.0, 3.0, 5.0, 8.0, 12.0)  # within the first minute of the schedule (tests/test_recovery_e2e.py)
SHORT_DROPS = 45


async def assert_back_to(baseline: Resources) -> None:
    """Threads, fds, UDP sockets and tasks back to `baseline`; resident memory grown by less than the bound."""
    after = await settle(baseline)
    print(
        f"\nresources: threads {len(baseline.threads)} -> {len(after.threads)}, fds {baseline.fds} -> {after.fds}, "
        f"UDP sockets {baseline.udp_sockets} -> {after.udp_sockets}, tasks {baseline.tasks} -> {after.tasks}, "
        f"RSS {baseline.rss / 2**20:.1f} -> {after.rss / 2**20:.1f} MiB"
    )
    assert not after.leaks_beyond(baseline)
    assert after.rss - baseline.rss < RSS_GROWTH_BOUND


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert not [record for record in caplog.records if record.exc_info], caplog.text
    assert "Unexpected error" not in caplog.text
    assert "Traceback" not in caplog.text
    assert "Task exception" not in caplog.text


async def warm(client: Any) -> Resources:
    """The baseline once the test client holds its connection to Home Assistant's server."""
    await client.get("/api/hls/0/playlist.m3u8")  # any request: it opens the kept-alive connection
    return resources()


# -- (a) a flapping camera -----------------------------------------------------------------------------------------


def _schedule() -> list[float]:
    """45 short drops with the longer outages spread among them."""
    every = SHORT_DROPS // len(LONG_OUTAGES)
    schedule: list[float] = []
    for index in range(SHORT_DROPS):
        schedule.append(SHORT_DROP)
        if index % every == every - 1:
            schedule.append(LONG_OUTAGES[index // every])
    return schedule


async def _cycle(camera: CameraSimulator, player: PlaylistClient, seconds: float) -> float:
    """One outage of `seconds`, then the camera up for `UP` from its return; the time until media was back."""
    drop = flap if seconds == SHORT_DROP else outage  # a long outage starts once the player heard of it (503)
    recovery = await drop(camera, player, seconds)
    await asyncio.sleep(max(0.0, UP - recovery))  # the camera's time up: what the test sets
    return recovery


async def test_a_camera_flapping_50_times_is_back_within_seconds_each_time(
    hls_client: tuple[OpenStream, Any], make_camera_simulator: CameraSimulatorFactory
) -> None:
    """Every run that delivered media starts the retry schedule over, so the 50th return is as fast as the first
    (the old doubling back-off reached 60 s after a few flaps)."""
    open_stream, client = hls_client
    camera = make_camera_simulator(CAMERA)
    baseline = await warm(client)
    stream, player, task = await play(open_stream, client, camera)
    recoveries: list[tuple[float, float]] = []
    try:
        for seconds in _schedule():
            try:
                recoveries.append((seconds, await _cycle(camera, player, seconds)))
            except TimeoutError:
                # Say what the worker and the camera were doing (a flaky failure must be diagnosable from CI).
                details = f"{stream.get_diagnostics()}\ncamera log: {camera.log[-20:]}"
                pytest.fail(f"no media {WAIT:g} s after outage {len(recoveries) + 1} ({seconds:g} s):\n{details}")
    finally:
        await stop_player(task)
        await stream.shutdown()  # before the resource check (the fixture's own comes after it)

    times = [recovery for _, recovery in recoveries]
    print(
        "\nmedia back after each outage (outage s: recovery s): "
        + ", ".join(f"{seconds:g}: {recovery:.2f}" for seconds, recovery in recoveries)
        + f"\n{len(times)} outages; median {statistics.median(times):.2f} s, max {max(times):.2f} s"
    )
    assert len(times) == SHORT_DROPS + len(LONG_OUTAGES)
    assert statistics.median(times) < 2 * 2  # the 2 s, doubled for a loaded machine
    assert max(times) < 10 * 2  # the 10 s, doubled
    await assert_back_to(baseline)


# -- (b) damaged files and a garbage-sending HTTP source as cameras ------------------------------------------------

GOOD_PARTS = 15  # the good camera's parts while the bad sources are tried again and again (about 15 s of media)
FLIPS = 300


def _ffmpeg_copy(source: Path, target: Path, *options: str) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-c", "copy", *options, str(target)], check=True
    )  # fmt: skip


def _flip_bits(data: bytes, start: int, rng: random.Random) -> bytes:
    """`FLIPS` single-bit flips from `start` on: a bad disk, a broken transfer."""
    damaged = bytearray(data)
    for _ in range(FLIPS):
        position = rng.randrange(start, len(damaged))
        damaged[position] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def damaged_files(directory: Path) -> dict[str, Path]:
    """Damaged MP4 and MPEG-TS files made from one good ffmpeg MP4 (name -> file)."""
    rng = random.Random(14)  # the same damage every run
    mp4, faststart, ts = directory / "good.mp4", directory / "faststart.mp4", directory / "good.ts"
    make_mp4(mp4)
    _ffmpeg_copy(mp4, faststart, "-movflags", "+faststart")  # the index first: damage hits the media
    _ffmpeg_copy(mp4, ts, "-f", "mpegts")
    contents = {
        "mp4_bit_flips": _flip_bits(faststart.read_bytes(), faststart.stat().st_size // 5, rng),
        "mp4_truncated": mp4.read_bytes()[: mp4.stat().st_size * 3 // 5],  # its index (at the end) is gone
        "mp4_faststart_truncated": faststart.read_bytes()[: faststart.stat().st_size * 3 // 5],
        "ts_bit_flips": _flip_bits(ts.read_bytes(), 0, rng),
        "ts_truncated": ts.read_bytes()[: ts.stat().st_size // 2 + 77],  # mid-packet
        "garbage": rng.randbytes(256 * 1024),
        "empty": b"",
    }
    files = {}
    for name, content in contents.items():
        path = directory / f"{name}.{'ts' if name.startswith('ts') else 'mp4'}"
        path.write_bytes(content)
        files[name] = path
    return files


async def _garbage(request: web.Request) -> web.StreamResponse:
    """An endless body of random bytes, as a camera's broken HTTP stream (or a wrong URL serving something else)."""
    rng = random.Random(request.path)
    response = web.StreamResponse(headers={"Content-Type": "video/mp2t"})
    await response.prepare(request)
    prefix: bytes = request.app["prefix"] if request.path == "/ts_then_garbage" else b""
    await response.write(prefix)
    while True:  # until the worker gives up and closes the connection (or the server stops)
        await response.write(rng.randbytes(16 * 1024))
        await asyncio.sleep(0.02)


async def _web_page(_request: web.Request) -> web.Response:
    return web.Response(text="<html><body>Camera login</body></html>", content_type="text/html")


@pytest.fixture
async def garbage_server(tmp_path: Path) -> AsyncIterator[Callable[[str], str]]:
    """An HTTP server on 127.0.0.1: /garbage (random bytes forever), /ts_then_garbage (the start of a good TS file,
    then random bytes), /page (a web page). Yields the URL of a path."""
    ts = tmp_path / "prefix.ts"
    await asyncio.get_running_loop().run_in_executor(None, _make_prefix, ts)
    app = web.Application()
    app["prefix"] = ts.read_bytes()[: ts.stat().st_size // 2]
    app.router.add_get("/garbage", _garbage)
    app.router.add_get("/ts_then_garbage", _garbage)
    app.router.add_get("/page", _web_page)
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield lambda path: f"http://127.0.0.1:{port}{path}"
    await runner.cleanup()


def _make_prefix(ts: Path) -> None:
    mp4 = ts.with_suffix(".mp4")
    make_mp4(mp4)
    _ffmpeg_copy(mp4, ts, "-f", "mpegts")


def _count_parts(stream: Stream, counts: dict[str, int], name: str, enough: Callable[[], None]) -> None:
    def count(_segment: Segment, _part: Part) -> None:
        counts[name] += 1
        enough()

    stream.buffer.add_listener(count)


async def test_damaged_sources_never_fell_the_worker_and_the_good_camera_plays(
    stream_factory: Callable[..., Stream],
    make_camera_simulator: CameraSimulatorFactory,
    garbage_server: Callable[[str], str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every damaged source is opened again and again (each run ends or fails; none takes the worker down with a
    traceback), and a good camera beside them delivers all along."""
    files = await asyncio.get_running_loop().run_in_executor(None, damaged_files, tmp_path)
    sources = {name: str(path) for name, path in files.items()}
    sources |= {name: garbage_server(f"/{name}") for name in ("garbage", "ts_then_garbage", "page")}
    camera = make_camera_simulator(CAMERA)
    baseline = resources()
    counts = dict.fromkeys([*sources, "camera"], 0)
    good_enough = asyncio.Event()
    streams = {name: stream_factory(source) for name, source in [*sources.items(), ("camera", camera.url("cam"))]}

    def enough() -> None:
        if counts["camera"] >= GOOD_PARTS:
            good_enough.set()

    with caplog.at_level(logging.INFO):
        for name, stream in streams.items():
            stream.add_provider(HLS_PROVIDER)
            _count_parts(stream, counts, name, enough)
            await stream.start()
        async with asyncio.timeout(WAIT + GOOD_PARTS):
            await good_enough.wait()
        attempts = {name: stream.get_diagnostics().get("start_worker", 0) for name, stream in streams.items()}
        running = {name for name, stream in streams.items() if stream.worker_running}
        for stream in streams.values():
            await stream.shutdown()

    print(f"\nparts delivered: {counts}\nruns started: {attempts}")
    assert running == set(streams)  # no worker died
    # Each damaged file and the web page was tried again after its first run ended. (The endless garbage streams
    # keep their run open until the read timeout: bytes keep coming, so the connection is not dead.)
    assert all(attempts[name] >= 2 for name in [*files, "page"]), attempts
    assert counts["camera"] >= GOOD_PARTS
    playable = {"mp4_bit_flips", "mp4_faststart_truncated", "ts_bit_flips", "ts_truncated", "ts_then_garbage"}
    assert all(counts[name] > 0 for name in playable), counts  # damaged, but what is left of them plays
    assert_no_traceback(caplog)
    await assert_back_to(baseline)


# -- (c) malformed HLS requests on a playing stream ----------------------------------------------------------------

HUGE = "9" * 30
BAD_QUERIES = [
    "_HLS_msn=",
    "_HLS_msn=&_HLS_part=",
    "_HLS_msn=0&_HLS_part=-1",
    "_HLS_msn=-5&_HLS_part=0",
    f"_HLS_msn={HUGE}",
    f"_HLS_msn=0&_HLS_part={HUGE}",
    f"_HLS_msn=-{HUGE}",
    "_HLS_msn=0x1",
    "_HLS_msn=1e3",
    "_HLS_msn=%20",
    "_HLS_msn=%00",
    "_HLS_msn=%D9%A3",  # an Arabic-Indic 3, which int() would take
    "_HLS_msn=0&_HLS_part=abc",
    "_HLS_skip=",
    "_HLS_skip=NO",
]
BAD_PATHS = [
    "segment/abc.m4s",
    "segment/-1.m4s",
    "segment/0.-1.m4s",
    "segment/.m4s",
    "segment/0.0.0.m4s",
    f"segment/{HUGE}.m4s",
    f"segment/0.{HUGE}.m4s",
    "segment/" + "9" * 5000 + ".m4s",  # past int()'s digit limit
    "segment/0.m4",
    "init.mp4/extra",
    "playlist.m3u8x",
    "master_playlist.m3u",
    "unknown.m3u8",
    "segment/%00.m4s",
]
BAD_TOKENS = ["", "ABCDEF", "f" * 10_000, "%2e%2e", "..", "0" * 64, "g" * 64]


async def test_malformed_hls_requests_get_4xx_and_no_traceback(
    hls_client: tuple[OpenStream, Any], make_camera_simulator: CameraSimulatorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    open_stream, client = hls_client
    camera = make_camera_simulator(CAMERA)
    baseline = await warm(client)
    stream, player, task = await play(open_stream, client, camera)
    base = player.path.rsplit("/", 1)[0]
    token = base.rsplit("/", 1)[1]
    requests = [f"{player.path}?{query}" for query in BAD_QUERIES]
    requests += [f"{base}/{path}" for path in BAD_PATHS]
    requests += [f"/api/hls/{bad}/playlist.m3u8" for bad in BAD_TOKENS]
    requests += [f"/api/hls/{token}{suffix}/playlist.m3u8" for suffix in ("0", "/..", "%2F")]
    answers: list[tuple[str, int]] = []
    try:
        with caplog.at_level(logging.INFO):
            for path in requests:
                async with asyncio.timeout(WAIT):  # none of them may block
                    answers.append((path, (await client.get(path)).status))
            still_playing = player.newest[0]
            await player.wait_past(still_playing)
    finally:
        await stop_player(task)
        await stream.shutdown()

    statuses = [status for _, status in answers]
    print(f"\n{len(answers)} malformed requests: " + ", ".join(f"{statuses.count(s)} x {s}" for s in set(statuses)))
    assert [(path, status) for path, status in answers if not 400 <= status < 500] == []
    assert_no_traceback(caplog)
    await assert_back_to(baseline)


# -- (d) 100 blocked LL-HLS clients when the camera stops, then when the stream stops -----------------------------

BLOCKED = 100


async def _block(session: aiohttp.ClientSession, url: str, text: str) -> list[asyncio.Task[int]]:
    """`BLOCKED` requests waiting for media: playlist reloads at and six parts past the preload hint (about 2 s of
    camera ahead, within the advance limit of 8 parts), and the hinted part itself."""
    hint = HINT_URI.search(text)
    assert hint is not None
    msn, part = hint[1], int(hint[2])
    base = url.rsplit("/", 1)[0]
    urls = [f"{url}?_HLS_msn={msn}&_HLS_part={part + 6}"] * (BLOCKED // 2)
    urls += [f"{url}?_HLS_msn={msn}&_HLS_part={part}"] * (BLOCKED // 4)
    urls += [f"{base}/segment/{msn}.{part}.m4s"] * (BLOCKED - len(urls))

    async def status(target: str) -> int:
        async with session.get(target) as response:
            await response.read()
            return response.status

    loop = asyncio.get_running_loop()
    return [loop.create_task(status(target)) for target in urls]


async def _answered(tasks: list[asyncio.Task[int]], since: float) -> tuple[list[int], float]:
    async with asyncio.timeout(WAIT):
        statuses = await asyncio.gather(*tasks)
    return statuses, time.monotonic() - since


async def _next_part(stream: Stream) -> None:
    next_part = asyncio.Event()
    remove = stream.buffer.add_listener(lambda _segment, _part: next_part.set())
    try:
        async with asyncio.timeout(WAIT):
            await next_part.wait()
    finally:
        remove()


async def _blocked_under(session: aiohttp.ClientSession, url: str, stream: Stream) -> list[asyncio.Task[int]]:
    """`BLOCKED` requests sent while the camera delivers, and one more part delivered meanwhile (time for the server
    to park them)."""
    await _next_part(stream)
    async with session.get(url) as response:
        assert response.status == 200
        text = await response.text()
    tasks = await _block(session, url, text)
    await _next_part(stream)
    return tasks


async def test_100_blocked_clients_are_answered_when_the_camera_or_the_stream_stops(
    hls_client: tuple[OpenStream, Any], make_camera_simulator: CameraSimulatorFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The camera stopping answers every waiting request at once (503, or the media the last run sent); the stream
    stopping answers them 404. None is left waiting for its deadline (about 3 target durations)."""
    open_stream, client = hls_client
    camera = make_camera_simulator(CAMERA)
    baseline = await warm(client)
    stream, path = open_stream(camera)
    url = str(client.make_url(path))
    await stream.start()
    with caplog.at_level(logging.INFO):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            tasks = await _blocked_under(session, url, stream)
            stopped = time.monotonic()
            await camera.async_stop()
            camera_gone, camera_gone_after = await _answered(tasks, stopped)

            await camera.async_start()
            tasks = await _blocked_under(session, url, stream)
            stopped = time.monotonic()
            await stream.stop()
            stream_gone, stream_gone_after = await _answered(tasks, stopped)
            async with session.get(url) as later:
                assert later.status == 404
        await stream.shutdown()

    print(
        f"\n{BLOCKED} blocked requests answered {camera_gone_after:.2f} s after the camera was told to stop "
        f"({ {status: camera_gone.count(status) for status in set(camera_gone)} }), "
        f"{stream_gone_after:.2f} s after the stream stopped ({ {s: stream_gone.count(s) for s in set(stream_gone)} })"
    )
    assert set(camera_gone) <= {200, 503, 404}
    assert camera_gone[: BLOCKED // 2] == [503] * (BLOCKED // 2)  # six parts ahead: never sent by the last run
    assert camera_gone_after < 5  # was 3 target durations (about 18 s) in the issue
    assert stream_gone[: BLOCKED // 2] == [404] * (BLOCKED // 2)
    assert set(stream_gone) <= {200, 404}
    assert stream_gone_after < 5
    assert_no_traceback(caplog)
    await assert_back_to(baseline)


# -- cameras coming and going: memory given back (issue 14 req. 4) -------------------------------------------------

CHURN_STREAMS = 20
CHURN_CYCLES = 4
CHURN_GROWTH_BOUND = 8 * 1024 * 1024  # per-cycle growth would be a leak: 20 streams' buffers are ~10 MB


def _second_segment(event: asyncio.Event) -> Callable[[Segment, Part], None]:
    def listener(segment: Segment, _part: Part) -> None:
        if segment.sequence >= 1:
            event.set()

    return listener


async def _delivering(streams: list[Stream]) -> None:
    """Until every stream has delivered a part of its second segment (a keyframe and a whole segment went through)."""
    delivered = [asyncio.Event() for _ in streams]
    removers = [
        stream.buffer.add_listener(_second_segment(event)) for stream, event in zip(streams, delivered, strict=True)
    ]
    async with asyncio.timeout(WAIT * 2):
        for event in delivered:
            await event.wait()
    for remove in removers:
        remove()


async def test_cameras_coming_and_going_give_their_memory_back(
    stream_factory: Callable[..., Stream], make_camera_simulator: CameraSimulatorFactory
) -> None:
    """20 cameras streamed and stopped, four times over (each camera entity keeps its stream object and starts it
    again when viewed): memory in use after the last cycle is what it was after the first, every resource is back."""
    camera = make_camera_simulator(CAMERA)
    baseline = resources()
    in_use = [trimmed_rss()]
    streams = [stream_factory(camera.url("cam")) for _ in range(CHURN_STREAMS)]
    for _ in range(CHURN_CYCLES):
        for stream in streams:
            stream.add_provider(HLS_PROVIDER)
            await stream.start()
        await _delivering(streams)
        for stream in streams:
            await stream.stop()
        assert sum(stream.buffer.memory_size() for stream in streams) == 0
        in_use.append(trimmed_rss())

    print("\nmemory in use after each cycle (MiB): " + ", ".join(f"{value / 2**20:.1f}" for value in in_use))
    assert in_use[-1] - in_use[1] < CHURN_GROWTH_BOUND  # the first cycle warms caches (codecs, executor threads)
    await assert_back_to(baseline)
