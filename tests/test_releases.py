"""Every supported Home Assistant release, end to end (issue 18): one real Home Assistant process per release.

The pinned suite runs on the Home Assistant that pytest-homeassistant-custom-component pins; this runs each release of
scripts/releases/<series>.txt from its own venv (built by scripts/setup, found through STREAM_RELEASE_VENVS, which
scripts/sandbox sets), as users run it, with our integration and an ffmpeg camera on the RTSP simulator (H.264 +
AAC). Per release, in this order on the same process:

- ours loads and takes over the built-in (its log line names the camera module; no takeover warning);
- `camera/capabilities` offers WebRTC once the background probe learnt the camera's codecs;
- `camera/stream`: master and media playlists, the init segment, a part and a segment, read by ffprobe;
- a WebRTC offer over the real websocket answered, video and audio frames received (tests.webrtc_client);
- `camera.record` (file read by ffprobe) and `camera.snapshot` (a JPEG);
- the generic camera's config flow with the simulator's RTSP URL: its preview stream (HLS, read by ffprobe);
- the real frontend's camera card plays the camera (tests.test_frontend's pieces, Chromium);
- nothing in Home Assistant's log from our loggers at error level, and no traceback through our files.

WebRTC works on the test sandbox's private loopback because scripts/sandbox gives it a second address (10.77.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import aioice.ice
import m3u8
import pytest
from playwright.async_api import BrowserContext
from yarl import URL

from tests.real_ha import FfmpegCamera, HomeAssistantConfig, RunningHomeAssistant, start_home_assistant
from tests.simulator import CameraSimulator
from tests.test_frontend import CARD, DASHBOARD, FrontendPage, _check, _report, _save_dashboard, _sockets_allowed
from tests.test_frontend import _wait_for_stream_type as wait_for_stream_type
from tests.test_recorder import ffprobe
from tests.webrtc_client import WebRtcClient

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

PROJECT_DIR = Path(__file__).resolve().parent.parent
RELEASES_DIR = PROJECT_DIR / "scripts" / "releases"
RELEASES = sorted(path.stem for path in RELEASES_DIR.glob("*.txt"))
CAMERA = "Smoke camera"
MOUNT = "h264_aac"  # H.264 High 640x360@30, AAC-LC; a keyframe every second
SIZE = (640, 360)
PLAYLIST_TIMEOUT_S = 30.0
RECORD_SECONDS = 3
FILE_TIMEOUT_S = 40.0
TAKEOVER_LOGGER = "custom_components.stream.takeover"
TOOK_OVER = "Took over Home Assistant's stream integration"
SETUP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Release:
    series: str
    version: str  # what scripts/releases/<series>.txt pins
    ha: RunningHomeAssistant
    camera: FfmpegCamera
    camera_url: str  # the simulator's RTSP URL, for the generic camera


def pinned_version(series: str) -> str:
    text = (RELEASES_DIR / f"{series}.txt").read_text()
    match = re.search(r"^homeassistant==(\S+)", text, re.MULTILINE)
    assert match, f"scripts/releases/{series}.txt pins no homeassistant==VERSION"
    return match[1]


def release_python(series: str) -> Path:
    """The release venv's interpreter, from STREAM_RELEASE_VENVS (`series=venv` pairs)."""
    venvs = dict(pair.split("=", 1) for pair in os.environ.get("STREAM_RELEASE_VENVS", "").split())
    python = Path(venvs.get(series, "/nonexistent")) / "bin" / "python"
    if not python.exists():
        pytest.fail(f"no venv for Home Assistant {series} ({python}): run the tests with scripts/test (it builds it)")
    return python


@pytest.fixture(scope="module", params=RELEASES)
def release(
    request: pytest.FixtureRequest, camera_simulator: CameraSimulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Release]:
    """Home Assistant of one release (its own venv), running with our integration and the simulator's camera."""
    series: str = request.param
    camera_url = camera_simulator.url(MOUNT)
    camera = FfmpegCamera(CAMERA, camera_url)
    config_dir = tmp_path_factory.mktemp(f"ha-{series}")
    (config_dir / "www").mkdir()  # in Home Assistant's allowlist_external_dirs by default: recordings, snapshots
    started = time.monotonic()
    with _sockets_allowed():
        ha = start_home_assistant(HomeAssistantConfig(cameras=(camera,)), config_dir, python=release_python(series))
    with ha:
        wait_for_takeover(ha)
        print(f"Home Assistant {series} started in {time.monotonic() - started:.1f} s")
        yield Release(series, pinned_version(series), ha, camera, camera_url)
    print(f"Home Assistant {series}: smoke took {time.monotonic() - started:.1f} s")


@pytest.fixture
def host_ice(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """pytest-homeassistant-custom-component fakes the machine's network adapters for the whole session (one
    10.10.10.10 that does not exist), so the test's own aiortc peer would gather no candidate. It gathers on the
    machine's real non-loopback addresses instead, as Home Assistant's side does: on the test sandbox's private
    network, its 10.77.0.1."""
    output = subprocess.run(
        ["ip", "-4", "-o", "address", "show", "scope", "global"], capture_output=True, text=True, check=True
    ).stdout
    addresses = re.findall(r"\binet (\d+\.\d+\.\d+\.\d+)/", output)
    assert addresses, f"no non-loopback address to gather on: run the tests with scripts/test\n{output}"
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: addresses)
    return addresses


# --- Helpers ------------------------------------------------------------------------------------------------------


def wait_for_takeover(ha: RunningHomeAssistant) -> None:
    """Home Assistant reports RUNNING while integrations that take longer still set up in the background."""
    deadline = time.monotonic() + SETUP_TIMEOUT_S
    while TOOK_OVER not in ha.log().text:
        if time.monotonic() > deadline:
            pytest.fail(f"our integration did not set up within {SETUP_TIMEOUT_S} s:\n{ha.log().text[-5000:]}")
        time.sleep(0.1)


async def fetch(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url) as response:
        assert response.status == 200, f"{url}: {response.status} {await response.text()}"
        return await response.read()


async def media_playlist_with_segment(session: aiohttp.ClientSession, master_url: str) -> tuple[str, m3u8.M3U8]:
    """The media playlist's URL and the playlist, once it lists a complete segment with parts."""
    master = m3u8.loads((await fetch(session, master_url)).decode())
    assert master.playlists, master.dumps()
    media_url = str(URL(master_url).join(URL(master.playlists[0].uri)))
    deadline = asyncio.get_running_loop().time() + PLAYLIST_TIMEOUT_S
    while True:
        playlist = m3u8.loads((await fetch(session, media_url)).decode())
        if any(segment.uri and segment.parts for segment in playlist.segments):
            return media_url, playlist
        assert asyncio.get_running_loop().time() < deadline, f"no complete segment within {PLAYLIST_TIMEOUT_S} s"
        await asyncio.sleep(0.25)


def probe_codecs(path: Path) -> dict[str, dict[str, Any]]:
    streams: list[dict[str, Any]] = ffprobe(path, "-show_streams")["streams"]
    return {stream["codec_type"]: stream for stream in streams}


async def read_hls(session: aiohttp.ClientSession, master_url: str, into: Path) -> None:
    """Master and media playlist, init, one part and one segment; init+segment and init+part read by ffprobe."""
    media_url, playlist = await media_playlist_with_segment(session, master_url)
    # Ours serves it: parts of a third of a second (the built-in's are 1 s).
    assert playlist.part_inf.part_target < 0.5, playlist.dumps()
    assert playlist.segment_map, playlist.dumps()
    init = await fetch(session, str(URL(media_url).join(URL(playlist.segment_map[0].uri))))
    segment = next(segment for segment in playlist.segments if segment.uri and segment.parts)
    whole = await fetch(session, str(URL(media_url).join(URL(segment.uri))))
    part = await fetch(session, str(URL(media_url).join(URL(segment.parts[0].uri))))

    (into / "segment.mp4").write_bytes(init + whole)
    (into / "part.mp4").write_bytes(init + part)
    streams = probe_codecs(into / "segment.mp4")
    assert streams["video"]["codec_name"] == "h264", streams
    assert (streams["video"]["width"], streams["video"]["height"]) == SIZE, streams
    assert streams["audio"]["codec_name"] == "aac", streams
    assert probe_codecs(into / "part.mp4")["video"]["codec_name"] == "h264"


async def wait_for_file(path: Path, ready: Callable[[Path], bool]) -> None:
    """Until `ready(path)` is true (the file written completely), or fail after FILE_TIMEOUT_S."""
    deadline = asyncio.get_running_loop().time() + FILE_TIMEOUT_S
    while not await asyncio.to_thread(lambda: path.exists() and ready(path)):
        assert asyncio.get_running_loop().time() < deadline, f"{path} not written within {FILE_TIMEOUT_S} s"
        await asyncio.sleep(0.5)


def recording_complete(path: Path) -> bool:
    with contextlib.suppress(Exception):
        duration = float(ffprobe(path, "-show_format")["format"]["duration"])
        return duration >= RECORD_SECONDS - 0.5
    return False


# --- The smoke, in order --------------------------------------------------------------------------------------------


async def test_loads_and_takes_over(release: Release) -> None:
    status, config = release.ha.process.request("GET", "/api/config")
    assert status == 200
    assert config["version"] == release.version
    assert "stream" in config["components"]
    # Found through the log's records: this also proves tests.real_ha parses this release's log format (2026.11 added
    # the UTC offset to the time), on which the last test's check relies.
    records = [record for record in release.ha.log().records() if record.logger == TAKEOVER_LOGGER]
    took_over = [record.text for record in records if TOOK_OVER in record.text]
    assert took_over, [record.text for record in records]
    # Camera (2026.10: camera/__init__.py; 2026.11: camera/entity.py) now creates our streams.
    assert "homeassistant.components.camera" in took_over[0], took_over
    assert not [record.text for record in records if record.level == "WARNING"]


async def test_capabilities_offer_webrtc(release: Release) -> None:
    types = await wait_for_stream_type(release.ha, release.camera.entity_id, "web_rtc")
    assert set(types) == {"hls", "web_rtc"}, types


async def test_hls_playlists_and_media(release: Release, tmp_path: Path) -> None:
    async with release.ha.websocket() as ws:
        answer = await ws.call({"type": "camera/stream", "entity_id": release.camera.entity_id})
    master_url = release.ha.url + answer["url"]
    async with aiohttp.ClientSession() as session:
        await read_hls(session, master_url, tmp_path)


async def test_webrtc_offer_answered_and_frames_received(release: Release, host_ice: list[str]) -> None:
    await wait_for_stream_type(release.ha, release.camera.entity_id, "web_rtc")
    async with release.ha.websocket() as ws:
        connection = ws.connection
        async with WebRtcClient(connection.send_json, connection.receive_json, release.camera.entity_id) as client:
            answer = await client.offer()
            assert "a=candidate:" in answer
            await client.wait_for_frames(video=10, audio=5, timeout=30)
            assert (client.video.width, client.video.height) == SIZE


async def test_record(release: Release) -> None:
    path = release.ha.config_dir / "www" / "smoke-record.mp4"
    status, body = release.ha.process.request(
        "POST",
        "/api/services/camera/record",
        json_body={
            "entity_id": release.camera.entity_id,
            "filename": str(path),
            "duration": RECORD_SECONDS,
            "lookback": 0,
        },
    )
    assert status == 200, body
    await wait_for_file(path, recording_complete)
    streams = probe_codecs(path)
    assert streams["video"]["codec_name"] == "h264", streams
    assert streams["audio"]["codec_name"] == "aac", streams


async def test_snapshot(release: Release) -> None:
    path = release.ha.config_dir / "www" / "smoke-snapshot.jpg"
    status, body = release.ha.process.request(
        "POST",
        "/api/services/camera/snapshot",
        json_body={"entity_id": release.camera.entity_id, "filename": str(path)},
    )
    assert status == 200, body
    await wait_for_file(path, lambda p: p.read_bytes()[-2:] == b"\xff\xd9")
    image = path.read_bytes()
    assert image[:3] == b"\xff\xd8\xff", image[:16]
    streams = probe_codecs(path)
    assert streams["video"]["codec_name"] == "mjpeg", streams
    assert (streams["video"]["width"], streams["video"]["height"]) == SIZE, streams


async def test_generic_camera_preview(release: Release, tmp_path: Path) -> None:
    """The generic camera's config flow, as its form sends it: a stream URL and no still image. On submit the flow
    makes a stream with `create_stream` and waits for its first part; its confirm step's preview (websocket
    `generic_camera/start_preview`) hands the frontend that stream's HLS URL, which plays."""
    ha = release.ha
    status, form = ha.process.request("POST", "/api/config/config_entries/flow", json_body={"handler": "generic"})
    assert status == 200, form
    assert form["step_id"] == "user", form
    flow_id = form["flow_id"]
    try:
        user_input = {
            "stream_source": release.camera_url,
            "advanced": {"framerate": 2, "verify_ssl": True, "rtsp_transport": "tcp"},
        }
        status, confirm = ha.process.request(
            "POST", f"/api/config/config_entries/flow/{flow_id}", json_body=user_input, timeout=60
        )
        assert status == 200, confirm
        assert confirm.get("step_id") == "user_confirm", confirm
        assert confirm.get("preview") == "generic_camera", confirm

        async with ha.websocket() as ws:
            event = await asyncio.wait_for(
                ws.first_event({"type": "generic_camera/start_preview", "flow_id": flow_id}), 30
            )
        stream_url = event["attributes"]["stream_url"]
        assert stream_url, event
        assert event["attributes"]["still_url"] is None, event
        async with aiohttp.ClientSession() as session:
            await read_hls(session, release.ha.url + URL(stream_url).path, tmp_path)

        # Not confirmed: the flow stops its preview stream and shows the form again.
        status, again = ha.process.request(
            "POST", f"/api/config/config_entries/flow/{flow_id}", json_body={"confirmed_ok": False}
        )
        assert status == 200, again
        assert again.get("step_id") == "user", again
    finally:
        ha.process.request("DELETE", f"/api/config/config_entries/flow/{flow_id}")


async def test_frontend_card_plays(release: Release, browser_context: BrowserContext) -> None:
    """The release's own frontend: a dashboard's live camera card ends on WebRTC and its picture moves."""
    entity_id = release.camera.entity_id
    await wait_for_stream_type(release.ha, entity_id, "web_rtc")
    await _save_dashboard(release.ha, entity_id)
    page = await FrontendPage.open(browser_context, release.ha, f"/{DASHBOARD}/camera", CARD)
    result = await page.play("webrtc")
    _report(f"Home Assistant {release.version}, camera card", result, "webrtc")
    _check(result, "webrtc", release.ha)


async def test_log_has_no_errors_from_ours(release: Release) -> None:
    """Last: everything above ran; nothing of ours logged an error or a traceback."""
    log = release.ha.log()
    print(f"Home Assistant {release.version}: errors in its log (any logger):")
    for record in log.errors():
        print("   ", record.text.splitlines()[0], "|", record.text.splitlines()[-1])
    assert not log.errors_from("custom_components.stream"), [record.text for record in log.errors()]
    warnings = [record.text for record in log.records() if record.logger == TAKEOVER_LOGGER and record.level != "INFO"]
    assert not warnings, warnings
