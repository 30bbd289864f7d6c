"""Repair issues against the real RTSP camera simulator and worker: a wrong password, a wrong path, a stopped camera,
an H.265 camera, B-frames and RTSP over UDP losing packets raise their issue, and it goes by itself once the camera
is fixed.

The thresholds are cut for the test (2 failed runs over 1 s instead of 3 over 30 s, retries 1 s apart, 1 s loss
windows); what is tested is the path from a real failure to the issue registry and back."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Callable

import pytest
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component

from custom_components.stream import Stream, core, create_stream, issues
from custom_components.stream.const import DOMAIN, HLS_PROVIDER
from custom_components.stream.source.backoff import Backoff
from tests.plugins.simulator import CameraSimulatorFactory
from tests.simulator import CameraSimulator, CameraSpec
from tests.simulator.urls import camera_url

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

WAIT = 30.0  # generous: issues come within a few seconds here, on a loaded machine too
LABEL = "camera.porch"
CAMERA = {"cam": CameraSpec(width=320, height=240, fps=15)}
PASSWORD = "pa55-word"

type OpenStream = Callable[[str], Stream]


@pytest.fixture
async def open_stream(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[OpenStream]:
    """Streams of LABEL (our integration set up, WebRTC on); thresholds and retries cut for the test."""
    monkeypatch.setattr(issues, "FAILED_RUNS", 2)
    monkeypatch.setattr(issues, "FAILING_FOR", 1.0)
    monkeypatch.setattr(core, "Backoff", functools.partial(Backoff, fast_spacing=0.5, slow_spacing=1.0))
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    hass.states.async_set(LABEL, "idle", {"friendly_name": "Porch"})
    streams: list[Stream] = []

    def open_stream(url: str) -> Stream:
        stream = create_stream(hass, url, {}, DynamicStreamSettings(), stream_label=LABEL)
        streams.append(stream)
        stream.add_provider(HLS_PROVIDER)
        return stream

    yield open_stream
    for stream in streams:
        await stream.shutdown()


def _ours(hass: HomeAssistant) -> dict[str, ir.IssueEntry]:
    registry = ir.async_get(hass)
    return {issue_id: issue for (domain, issue_id), issue in registry.issues.items() if domain == DOMAIN}


async def _wait_for_issues(hass: HomeAssistant, *problems: str) -> dict[str, ir.IssueEntry]:
    """Until our issues are exactly LABEL's `problems`."""
    expected = {f"{LABEL}_{problem}" for problem in problems}
    async with asyncio.timeout(WAIT):
        while set(_ours(hass)) != expected:
            await _next_registry_change(hass)
    return _ours(hass)


async def _next_registry_change(hass: HomeAssistant) -> None:
    changed = asyncio.Event()

    @callback
    def on_change(_event: Event[ir.EventIssueRegistryUpdatedData]) -> None:
        changed.set()

    unsub = hass.bus.async_listen(ir.EVENT_REPAIRS_ISSUE_REGISTRY_UPDATED, on_change)
    try:
        await changed.wait()
    finally:
        unsub()


async def test_wrong_path_then_wrong_password_then_fixed(
    hass: HomeAssistant, open_stream: OpenStream, make_camera_simulator: CameraSimulatorFactory
) -> None:
    camera = make_camera_simulator(CAMERA, username="viewer", password=PASSWORD)
    stream = open_stream(camera_url(camera.port, "no-such-path", username="viewer", password=PASSWORD))
    await stream.start()
    found = await _wait_for_issues(hass, "camera_path_not_found")
    assert found[f"{LABEL}_camera_path_not_found"].translation_placeholders == {
        "camera": "Porch (camera.porch)",
        "host": f"127.0.0.1:{camera.port}",
    }
    stream.update_source(camera_url(camera.port, "cam", username="viewer", password="wrong-" + PASSWORD))
    found = await _wait_for_issues(hass, "camera_credentials")
    issue = found[f"{LABEL}_camera_credentials"]
    assert issue.severity == ir.IssueSeverity.ERROR
    assert PASSWORD not in json.dumps(issue.translation_placeholders)
    assert "viewer" not in json.dumps(issue.translation_placeholders)
    stream.update_source(camera.url("cam"))
    await _wait_for_issues(hass)  # the first run that delivers media deletes it


async def test_stopped_camera_then_back(
    hass: HomeAssistant, open_stream: OpenStream, make_camera_simulator: CameraSimulatorFactory
) -> None:
    camera = make_camera_simulator(CAMERA)
    stream = open_stream(camera.url("cam"))
    await stream.start()
    await camera.async_stop()
    found = await _wait_for_issues(hass, "camera_unreachable")
    assert found[f"{LABEL}_camera_unreachable"].translation_key == "camera_unreachable"
    await camera.async_start()
    await _wait_for_issues(hass)


async def test_codecs_browsers_cannot_play(
    hass: HomeAssistant, open_stream: OpenStream, camera_simulator: CameraSimulator
) -> None:
    stream = open_stream(camera_simulator.url("h265"))
    await stream.start()
    found = await _wait_for_issues(hass, "camera_h265")
    assert found[f"{LABEL}_camera_h265"].severity == ir.IssueSeverity.WARNING
    stream.update_source(camera_simulator.url("h264_bframes"))  # the camera set to H.264, B-frames still on
    await _wait_for_issues(hass, "camera_bframes")
    stream.update_source(camera_simulator.url("h264"))
    await _wait_for_issues(hass)


async def test_rtsp_over_udp_losing_packets(
    hass: HomeAssistant,
    open_stream: OpenStream,
    make_camera_simulator: CameraSimulatorFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real loss: RTSP over UDP into a 4 KiB socket buffer drops the bursts of a 3 Mbit/s camera's keyframes (FFmpeg
    reports 'RTP: missed N packets'); over TCP nothing is lost."""
    monkeypatch.setattr(core, "LOSS_WINDOW", 1.0)
    monkeypatch.setattr(issues, "CLEAN_WINDOWS", 2)
    monkeypatch.setattr(issues, "LOSS_MIN_PACKETS", 1)
    camera = make_camera_simulator({"cam": CameraSpec(bitrate=3000)})
    stream = open_stream(camera.url("cam"))
    stream.pyav_options = {"rtsp_transport": "udp", "buffer_size": "4096"}
    await stream.start()
    found = await _wait_for_issues(hass, "camera_rtp_packet_loss")
    assert found[f"{LABEL}_camera_rtp_packet_loss"].severity == ir.IssueSeverity.WARNING
    stream.pyav_options = {"rtsp_transport": "tcp"}
    stream.update_source(camera.url("cam"))  # the user followed the advice: the next run uses TCP
    await _wait_for_issues(hass)
