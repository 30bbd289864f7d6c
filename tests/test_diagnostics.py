"""Diagnostics: the rates measured over the last seconds of media, viewers of the outputs, the config entry that
offers the integration's diagnostics, and — against the camera simulator with a password — that no credential or
token appears in them."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.components.diagnostics import get_diagnostics_for_config_entry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.stream import Stream
from custom_components.stream.const import DOMAIN, HLS_PROVIDER
from custom_components.stream.outputs.output import MAX_REMEMBERED_CLIENTS, VIEWER_WINDOW, RecentClients, StreamOutput
from custom_components.stream.source.rates import MAX_SAMPLES, NO_RATES, WINDOW_SECONDS, MediaRateMeter
from tests.simulator import CameraSimulator, CameraSpec
from tests.simulator.urls import camera_url

WAIT = 15.0  # generous bound for media to show up on a loaded 2-core machine
MEASURED_SECONDS = 5.0  # media played before the rates are checked
VIDEO_SCALE = 90_000
AUDIO_SCALE = 48_000
AAC_FRAME = 1024  # samples per AAC frame


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def feed_video(
    meter: MediaRateMeter, *, fps: int, seconds: float, size: int, gop: int, start: float = 0.0, frame: int = 0
) -> float:
    """`seconds` of video at `fps` from media time `start`, a keyframe every `gop` frames; returns the end time."""
    count = round(seconds * fps)
    for index in range(count):
        dts = round((start + index / fps) * VIDEO_SCALE)
        meter.on_packet(True, dts, VIDEO_SCALE, size, (frame + index) % gop == 0)
    return start + count / fps


# -- the rate window (synthetic packets) ------------------------------------------------------------------------


def test_rates_of_steady_video() -> None:
    meter = MediaRateMeter()
    feed_video(meter, fps=30, seconds=12, size=1000, gop=60)

    rates = meter.read()

    assert rates.fps == pytest.approx(30)
    assert rates.bitrate == pytest.approx(30 * 1000 * 8)
    assert rates.keyframe_interval == pytest.approx(2.0)


def test_bitrate_counts_audio_too() -> None:
    meter = MediaRateMeter()
    feed_video(meter, fps=25, seconds=5, size=2000, gop=25)
    audio_frames = round(5 * AUDIO_SCALE / AAC_FRAME)
    for index in range(audio_frames):
        meter.on_packet(False, index * AAC_FRAME, AUDIO_SCALE, 300, True)

    rates = meter.read()

    audio_bits = AUDIO_SCALE / AAC_FRAME * 300 * 8
    assert rates.fps == pytest.approx(25)  # audio frames are not video frames
    assert rates.bitrate == pytest.approx(25 * 2000 * 8 + audio_bits, abs=1)
    assert rates.keyframe_interval == pytest.approx(1.0)


def test_only_the_last_seconds_count() -> None:
    meter = MediaRateMeter()
    end = feed_video(meter, fps=10, seconds=20, size=5000, gop=10)
    feed_video(meter, fps=30, seconds=WINDOW_SECONDS, size=1000, gop=90, start=end)

    rates = meter.read()

    assert rates.fps == pytest.approx(30, rel=0.01)
    assert rates.bitrate == pytest.approx(30 * 1000 * 8, rel=0.01)
    assert rates.keyframe_interval == pytest.approx(3.0)


def test_timestamps_going_back_start_a_new_window() -> None:
    meter = MediaRateMeter()
    feed_video(meter, fps=10, seconds=30, size=5000, gop=10, start=100.0)
    feed_video(meter, fps=15, seconds=3, size=500, gop=30)  # a discontinuity: media time starts over at 0

    rates = meter.read()

    assert rates.fps == pytest.approx(15)
    assert rates.bitrate == pytest.approx(15 * 500 * 8)
    assert rates.keyframe_interval == pytest.approx(2.0)


def test_new_run_forgets_the_last_one() -> None:
    meter = MediaRateMeter()
    end = feed_video(meter, fps=10, seconds=5, size=5000, gop=10)
    meter.new_run()
    feed_video(meter, fps=20, seconds=2, size=100, gop=100, start=end + 1)

    rates = meter.read()

    assert rates.fps == pytest.approx(20)
    assert rates.bitrate == pytest.approx(20 * 100 * 8)
    assert rates.keyframe_interval == pytest.approx(1.0)  # the last known interval: the new run had one keyframe


def test_nothing_to_measure() -> None:
    meter = MediaRateMeter()
    assert meter.read() == NO_RATES
    meter.on_packet(True, 0, VIDEO_SCALE, 1000, True)
    assert meter.read() == NO_RATES  # one packet spans no time


def test_rates_go_stale_when_packets_stop() -> None:
    clock = FakeClock()
    meter = MediaRateMeter(clock)
    feed_video(meter, fps=30, seconds=3, size=1000, gop=30)
    clock.now += WINDOW_SECONDS - 1
    assert meter.read().fps == pytest.approx(30)

    clock.now += 2

    assert meter.read() == NO_RATES


def test_window_is_bounded_whatever_the_rate() -> None:
    meter = MediaRateMeter()
    feed_video(meter, fps=1000, seconds=WINDOW_SECONDS, size=10, gop=1000)

    assert meter.read().fps == pytest.approx(1000)  # measured over the newest packets only
    assert len(meter._video._samples) == MAX_SAMPLES


def test_reading_while_the_worker_writes_never_fails() -> None:
    meter = MediaRateMeter()
    stop = threading.Event()

    def worker() -> None:
        dts = 0
        while True:
            meter.on_packet(True, dts, VIDEO_SCALE, 1000, dts % (30 * 3000) == 0)
            dts += 3000
            if dts > 5 * VIDEO_SCALE:
                if stop.is_set():
                    return  # after a whole 5 s timeline, so the last read has a full window
                dts = 0  # timestamps start over now and then: the window clears under the reader

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        for _ in range(20_000):
            meter.read()
    finally:
        stop.set()
        thread.join()
    assert meter.read().fps == pytest.approx(30, rel=0.01)


# -- viewers ---------------------------------------------------------------------------------------------------


def test_viewers_are_the_distinct_clients_of_the_last_seconds() -> None:
    clock = FakeClock()
    clients = RecentClients(clock)
    clients.saw("10.0.0.1 Safari")
    clients.saw("10.0.0.2 hls.js")
    clients.saw("10.0.0.1 Safari")
    assert clients.count() == 2

    clock.now += VIEWER_WINDOW - 1
    clients.saw("10.0.0.2 hls.js")
    clock.now += 2

    assert clients.count() == 1  # 10.0.0.1 stopped asking


def test_viewers_remembered_are_bounded() -> None:
    clients = RecentClients()
    for index in range(MAX_REMEMBERED_CLIENTS + 50):
        clients.saw(f"10.0.{index // 256}.{index % 256} player")
    assert clients.count() == MAX_REMEMBERED_CLIENTS


# -- the config entry ------------------------------------------------------------------------------------------


async def test_setup_creates_the_one_config_entry(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    await hass.async_block_till_done()

    entries = hass.config_entries.async_entries(DOMAIN)
    assert [(entry.title, entry.source, dict(entry.data)) for entry in entries] == [("Stream", "import", {})]
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "single_instance_allowed")


async def test_user_adds_the_entry_back(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    await hass.async_block_till_done()
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert await hass.config_entries.async_remove(entry.entry_id)

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_config_entry_diagnostics_without_streams(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"part_duration": 0.5, "unrelated": "secret"}})
    await hass.async_block_till_done()

    data = await get_diagnostics_for_config_entry(hass, hass_client, hass.config_entries.async_entries(DOMAIN)[0])

    assert data["streams"] == []
    config = data["config"]
    assert isinstance(config, dict)
    assert (config["ll_hls"], config["part_duration"], config["segment_duration"]) == (True, 0.5, 6.0)
    assert "unrelated" not in config  # keys the integration does not read are not reported
    hls = data["hls"]
    assert isinstance(hls, dict)
    assert (hls["part_target_duration"], hls["part_hold_back"]) == (0.5, 1.0)


# -- against the camera simulator ------------------------------------------------------------------------------


class AvailabilityWatcher:
    """Wakes the test when the stream reports a change of availability."""

    def __init__(self, stream: Stream) -> None:
        self._stream = stream
        self._changed = asyncio.Event()
        stream.set_update_callback(self._changed.set)

    async def wait_for(self, available: bool) -> None:
        async with asyncio.timeout(WAIT):
            while self._stream.available is not available:
                self._changed.clear()
                await self._changed.wait()


async def setup_diagnostics(hass: HomeAssistant) -> None:
    """Home Assistant's diagnostics, set up before any test client starts (which freezes the routes)."""
    assert await async_setup_component(hass, "diagnostics", {})


async def config_entry_diagnostics(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> dict[str, Any]:
    await hass.async_block_till_done()  # the config entry comes from a task started by setup
    (entry,) = hass.config_entries.async_entries(DOMAIN)
    return dict(await get_diagnostics_for_config_entry(hass, hass_client, entry))


def buffered_seconds(output: StreamOutput) -> float:
    return sum(segment.duration for segment in output.get_segments())


def assert_no_secret(data: object, *secrets: str) -> None:
    text = json.dumps(data)
    for secret in secrets:
        assert secret not in text


@pytest.mark.e2e
@pytest.mark.usefixtures("socket_enabled")
async def test_diagnostics_of_a_playing_camera_with_a_password(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
    stream_factory: Callable[[str], Stream],
    make_camera_simulator: Callable[..., CameraSimulator],
) -> None:
    await setup_diagnostics(hass)
    camera = make_camera_simulator({"cam": CameraSpec(keyframe_interval=2.0)}, username="user", password="pa55")
    source = camera.url("cam")
    assert "user:pa55@" in source
    stream = stream_factory(source)
    output = stream.add_provider(HLS_PROVIDER)
    await stream.start()
    # Five seconds of media: the camera's start-up gap (its encoder warming up) no longer weighs on the rates.
    assert await output.buffer.wait_until(lambda: buffered_seconds(output) >= MEASURED_SECONDS, WAIT)

    client = await hass_client_no_auth()
    response = await client.get(stream.endpoint_url(HLS_PROVIDER))
    assert response.status == 200
    token = stream.access_token
    assert token is not None
    diagnostics = stream.get_diagnostics()
    entry_diagnostics = await config_entry_diagnostics(hass, hass_client)

    assert diagnostics["source"] == f"rtsp://****:****@127.0.0.1:{camera.port}/cam"
    assert (diagnostics["container_format"], diagnostics["video_codec"], diagnostics["audio_codec"]) == (
        "rtsp",
        "h264",
        None,
    )
    assert diagnostics["resolution"] == "640x360"
    assert diagnostics["fps"] == pytest.approx(30, rel=0.2)
    assert diagnostics["bitrate"] > 0
    assert diagnostics["keyframe_interval"] == pytest.approx(2.0, rel=0.2)
    assert diagnostics["outputs"] == {"hls": {"idle": False, "viewers": 1}}
    assert diagnostics["start_worker"] == 1
    assert "worker_error" not in diagnostics
    assert diagnostics["buffered_bytes"] > 0
    (entry_stream,) = entry_diagnostics["streams"]
    assert entry_stream["label"] == "camera.test"
    assert entry_stream["source"] == diagnostics["source"]
    assert entry_stream["fps"] == pytest.approx(30, rel=0.2)
    assert entry_stream["outputs"] == {"hls": {"idle": False, "viewers": 1}}
    assert_no_secret([diagnostics, entry_diagnostics], "pa55", "user:", token)


@pytest.mark.e2e
@pytest.mark.usefixtures("socket_enabled")
async def test_diagnostics_of_a_refused_password(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    stream_factory: Callable[[str], Stream],
    make_camera_simulator: Callable[..., CameraSimulator],
) -> None:
    await setup_diagnostics(hass)
    camera = make_camera_simulator(username="user", password="pa55")
    stream = stream_factory(camera_url(camera.port, "h264", username="user", password="wr0ng-secret"))
    watcher = AvailabilityWatcher(stream)
    stream.add_provider(HLS_PROVIDER)
    await stream.start()

    await watcher.wait_for(False)  # reported after the error is counted

    diagnostics = stream.get_diagnostics()
    entry_diagnostics = await config_entry_diagnostics(hass, hass_client)
    assert diagnostics["worker_error"] >= 1
    assert "Unauthorized" in diagnostics["last_error"]
    assert diagnostics["retry_timeout"] > 0
    assert diagnostics["fps"] is None
    (entry_stream,) = entry_diagnostics["streams"]
    assert entry_stream["last_error"] == diagnostics["last_error"]
    assert_no_secret([diagnostics, entry_diagnostics], "wr0ng-secret", "pa55", "user:")
