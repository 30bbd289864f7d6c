"""LL-HLS from a running Home Assistant, read by independent clients: ffprobe and the m3u8 parser."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import m3u8
import pytest
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.stream import Stream, create_stream
from custom_components.stream.const import DOMAIN, HLS_PROVIDER
from tests.simulator import CameraSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

PROBE_SECONDS = 4


@pytest.fixture
async def hls_url(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, camera_simulator: CameraSimulator
) -> AsyncIterator[tuple[Stream, Any, str]]:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    client = await hass_client_no_auth()
    streams: list[Stream] = []

    def open_stream(mount: str) -> tuple[Stream, str]:
        stream = create_stream(hass, camera_simulator.url(mount), {}, DynamicStreamSettings())
        streams.append(stream)
        stream.add_provider(HLS_PROVIDER)
        return stream, str(client.make_url(stream.endpoint_url(HLS_PROVIDER)))

    yield open_stream, client  # type: ignore[misc]
    for stream in streams:
        await stream.stop()


async def ffprobe(url: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        "ffprobe",
        "-v",
        "error",
        "-read_intervals",
        f"%+{PROBE_SECONDS}",
        "-show_streams",
        "-show_packets",
        "-of",
        "json",
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    result: dict[str, Any] = json.loads(stdout)
    return result


@pytest.mark.parametrize(
    ("mount", "video", "audio", "size"),
    [
        ("h264_aac", "h264", "aac", (640, 360)),
        ("h265", "hevc", None, (320, 240)),
        # Audio HLS cannot carry as it is arrives as AAC (transcoded in the worker).
        ("h264_pcmu", "h264", "aac", (640, 360)),
        ("h264_pcma", "h264", "aac", (640, 360)),
        ("h264_opus", "h264", "aac", (640, 360)),
    ],
)
async def test_ffprobe_reads_the_hls_stream(
    hass: HomeAssistant,
    hls_url: Any,
    mount: str,
    video: str,
    audio: str | None,
    size: tuple[int, int],
) -> None:
    open_stream, _ = hls_url
    stream, url = open_stream(mount)
    await stream.start()

    probe = await ffprobe(url)

    streams = {s["codec_type"]: s for s in probe["streams"]}
    assert streams["video"]["codec_name"] == video
    assert (streams["video"]["width"], streams["video"]["height"]) == size
    assert streams.get("audio", {}).get("codec_name") == audio
    video_index = streams["video"]["index"]
    video_packets = [p for p in probe["packets"] if p["stream_index"] == video_index]
    times = [float(p["dts_time"]) for p in video_packets]
    assert times == sorted(times)
    assert times[-1] - times[0] >= PROBE_SECONDS - 1.5


async def test_playlists_are_valid_ll_hls(hass: HomeAssistant, hls_url: Any) -> None:
    open_stream, client = hls_url
    stream, absolute_url = open_stream("h264_aac")
    url = URL(absolute_url).path  # the test client wants paths
    await stream.start()

    master = await client.get(url)
    assert master.status == 200
    assert master.headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    variant = m3u8.loads(await master.text()).playlists[0]
    assert variant.stream_info.codecs.startswith("avc1.64")
    assert variant.stream_info.bandwidth > 0

    base = url.rsplit("/", 1)[0]
    media = await client.get(f"{base}/playlist.m3u8", headers={"Accept-Encoding": "gzip"})
    assert media.status == 200
    playlist = m3u8.loads(await media.text())
    assert playlist.server_control.can_block_reload == "YES"
    part_target = playlist.part_inf.part_target
    assert playlist.server_control.part_hold_back >= 2 * part_target
    assert playlist.segments, "a playable playlist has at least one complete segment"
    # Blocking reload: ask for the hinted part; the answer lists it.
    hint = playlist.preload_hint.uri  # e.g. ./segment/1.3.m4s
    msn, part = hint.rsplit("/", 1)[1].removesuffix(".m4s").split(".")
    blocked = await client.get(f"{base}/playlist.m3u8", params={"_HLS_msn": msn, "_HLS_part": part})
    assert blocked.status == 200
    text = await blocked.text()
    assert "#EXT-X-PART:DURATION=" in text
    assert f'URI="{hint}"' in text
    parts = [p for segment in m3u8.loads(text).segments for p in segment.parts]
    assert parts
    for listed in parts[-3:]:
        assert listed.duration <= part_target
        body = await client.get(f"{base}/{listed.uri}")
        assert body.status == 200
        assert body.headers["Content-Type"] == "video/iso.segment"
        assert await body.read()


@pytest.mark.parametrize(
    ("mount", "audio"),
    [
        ("h264_pcmu", "aac (transcoded from pcm_mulaw)"),
        ("h264_pcma", "aac (transcoded from pcm_alaw)"),
        ("h264_opus", "aac (transcoded from opus)"),
        ("h264_aac", "aac (passed through)"),
    ],
)
async def test_master_playlist_names_the_aac_served(hass: HomeAssistant, hls_url: Any, mount: str, audio: str) -> None:
    """CODECS names AAC-LC whether the camera sent it or the worker made it; diagnostics say which."""
    open_stream, client = hls_url
    stream, absolute_url = open_stream(mount)
    await stream.start()

    master = await client.get(URL(absolute_url).path)
    assert master.status == 200
    codecs = m3u8.loads(await master.text()).playlists[0].stream_info.codecs.split(",")
    assert codecs[0].startswith("avc1.")
    assert codecs[1:] == ["mp4a.40.2"]
    assert stream.get_diagnostics()["audio_codec"] == audio
