"""A camera dropping off and coming back, seen by HLS clients over HTTP (Home Assistant's server, the real worker,
the RTSP camera simulator): media is back within seconds of the camera, and waiting clients learn at once that the
camera is gone.

The times are printed (`-s`); the bounds asserted are loose on purpose: CI machines are loaded."""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from typing import Any

import pytest

from custom_components.stream import core
from custom_components.stream.const import RETRY_FAST_SPACING, RETRY_SLOW_SPACING
from custom_components.stream.source.backoff import Backoff
from custom_components.stream.source.worker import LIVE_SILENCE_LIMIT
from tests.plugins.hls_player import HINT_URI, WAIT, OpenStream, outage, play, stop_player
from tests.plugins.simulator import CameraSimulatorFactory
from tests.simulator import CameraSpec

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

CAMERA = {"cam": CameraSpec(width=320, height=240, fps=15)}


async def test_media_is_back_within_seconds_of_the_camera(
    hls_client: tuple[OpenStream, Any], make_camera_simulator: CameraSimulatorFactory
) -> None:
    """Outages in the first minute of the schedule: the worker tries the camera every second."""
    open_stream, client = hls_client
    camera = make_camera_simulator(CAMERA)
    _, player, task = await play(open_stream, client, camera)
    try:
        recoveries = [await outage(camera, player, seconds) for seconds in (1, 1, 3, 5, 10)]
    finally:
        await stop_player(task)

    print(
        "\nmedia back after the camera returned (s): "
        + ", ".join(f"{seconds:.2f}" for seconds in recoveries)
        + f"; median {statistics.median(recoveries):.2f}, max {max(recoveries):.2f}"
    )
    assert max(recoveries) < RETRY_FAST_SPACING + 9  # about 1 s plus the camera's open, on a quiet machine
    assert player.statuses.count(503) >= 5  # the player heard of each outage (and kept polling)


async def test_media_is_back_within_the_slow_spacing_after_a_long_outage(
    hls_client: tuple[OpenStream, Any],
    make_camera_simulator: CameraSimulatorFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the fast period, attempts are 10 s apart: the camera is back within that (the fast period is cut to 2 s
    here so that the test need not wait out a minute)."""
    monkeypatch.setattr(core, "Backoff", functools.partial(Backoff, fast_period=2.0))
    open_stream, client = hls_client
    camera = make_camera_simulator(CAMERA)
    _, player, task = await play(open_stream, client, camera)
    try:
        recovery = await outage(camera, player, 14)
    finally:
        await stop_player(task)

    print(f"\nmedia back {recovery:.2f} s after the camera returned from a 14 s outage (slow spacing)")
    assert recovery < RETRY_SLOW_SPACING + 8


async def _blocked_requests(client: Any, path: str, ahead: int = 0) -> tuple[list[asyncio.Task[Any]], str]:
    """Five blocking playlist reloads `ahead` parts past the preload hint, and a request for the hinted part."""
    playlist = await client.get(path)
    assert playlist.status == 200
    hint = HINT_URI.search(await playlist.text())
    assert hint is not None
    loop = asyncio.get_running_loop()
    params = {"_HLS_msn": hint[1], "_HLS_part": str(int(hint[2]) + ahead)}
    tasks = [loop.create_task(client.get(path, params=params)) for _ in range(5)]
    part = path.rsplit("/", 1)[0] + f"/segment/{hint[1]}.{hint[2]}.m4s"
    tasks.append(loop.create_task(client.get(part)))
    return tasks, part


async def test_waiting_clients_learn_at_once_that_the_camera_is_gone(
    hls_client: tuple[OpenStream, Any], make_camera_simulator: CameraSimulatorFactory
) -> None:
    """Blocked requests answer as soon as the worker sees the camera go, new ones at once: 503 (the camera may come
    back, the same URLs then work again). Reloads that the run's last part satisfies get their playlist."""
    open_stream, client = hls_client
    camera = make_camera_simulator(CAMERA)
    stream, path = open_stream(camera)
    await stream.start()
    assert (await client.get(path)).status == 200
    # Two parts past the hint (the limit is at least 3 past the last part): about 0.7 s of camera still to come.
    far, _ = await _blocked_requests(client, path, ahead=2)
    near, _ = await _blocked_requests(client, path)

    stopped = time.monotonic()
    await camera.async_stop()
    async with asyncio.timeout(WAIT):
        responses = await asyncio.gather(*far[:5], *near)
        await asyncio.gather(*far[5:])
    answered = time.monotonic() - stopped
    base = path.rsplit("/", 1)[0]
    later = [await client.get(path), await client.get(f"{base}/master_playlist.m3u8")]

    statuses = [response.status for response in responses]
    print(f"\nblocked requests answered {answered:.2f} s after the camera was told to stop: {statuses}")
    assert statuses[:5] == [503] * 5
    assert set(statuses[5:10]) <= {200, 503}  # the hinted part: the run's last (200) or never sent
    assert statuses[10] in {200, 404}  # the hinted part itself: sent, or never to be (its segment ended)
    assert [response.status for response in later] == [503] * 2
    assert answered < 5  # was 3 target durations (about 18 s)


async def test_waiting_clients_learn_at_once_that_the_stream_stopped(
    hls_client: tuple[OpenStream, Any], make_camera_simulator: CameraSimulatorFactory
) -> None:
    """The stream stops (its last viewer went, or its camera was removed): its URLs end, 404."""
    open_stream, client = hls_client
    stream, path = open_stream(make_camera_simulator(CAMERA))
    await stream.start()
    assert (await client.get(path)).status == 200
    tasks, part = await _blocked_requests(client, path)

    stopped = time.monotonic()
    await stream.stop()
    async with asyncio.timeout(WAIT):
        responses = await asyncio.gather(*tasks)
    answered = time.monotonic() - stopped

    print(f"\nblocked requests answered {answered:.2f} s after the stream stopped")
    assert [response.status for response in responses] == [404] * 6
    assert (await client.get(path)).status == 404
    assert (await client.get(part)).status == 404
    assert answered < 5


async def test_a_camera_that_hangs_is_given_up_within_seconds(
    hls_client: tuple[OpenStream, Any], make_camera_simulator: CameraSimulatorFactory
) -> None:
    """The camera stops sending but keeps its connection open (its process frozen): no socket closes, so only the
    RTSP socket timeout ends the run. A live RTSP camera sends every frame, so 5 s of silence means it is gone: at
    the timeout's first expiry FFmpeg hands out the frame it was assembling, and the run ends there rather than at
    a second expiry (10 s); once the camera answers again, media is back within seconds."""
    open_stream, client = hls_client
    camera = make_camera_simulator(CAMERA)
    stream, player, task = await play(open_stream, client, camera)
    given_up = asyncio.Event()
    stream.set_update_callback(lambda: None if stream.available else given_up.set())
    try:
        camera.pause()
        hung = time.monotonic()
        async with asyncio.timeout(WAIT):
            await given_up.wait()
        noticed = time.monotonic() - hung
        camera.resume()
        back = time.monotonic()
        await player.wait_past(player.newest[0])
        recovery = player.newest_at - back
    finally:
        camera.resume()
        await stop_player(task)

    print(f"\na hung camera given up after {noticed:.2f} s; media back {recovery:.2f} s after it went on")
    assert noticed < 2 * LIVE_SILENCE_LIMIT  # 5 s and a loaded machine's delay (a second expiry: 10.1-10.3 s)
    assert recovery < 10
