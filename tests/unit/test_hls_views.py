"""The HLS views over HTTP, against a stand-in stream whose real `MediaBuffer` the tests feed part by part.

Requests that must wait are started as tasks; the test learns they are parked on the buffer from the buffer
itself (`ObservedBuffer.waiting`), then adds media and awaits the response. No sleeps.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import m3u8
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.stream.core import Stream
from custom_components.stream.outputs.hls import HlsStream, async_register_hls_views, views
from custom_components.stream.remux.fmp4.boxes import box, full_box
from custom_components.stream.remux.fmp4.orientation import orientation_matrix, transform_init
from custom_components.stream.remux.media import MediaBuffer, Part, SegmentHeader
from custom_components.stream.settings import StreamSettings

TOKEN = "0123456789abcdef" * 4
LL = StreamSettings(
    ll_hls=True, min_segment_duration=1.9, part_target_duration=0.5, hls_advance_part_limit=6, hls_part_timeout=1.0
)
WAIT = 5.0  # generous bound on awaiting a condition that should hold almost at once
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/iso.segment"

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]  # the hass_client_no_auth fixture


def _real_stream_is_an_hls_stream(stream: Stream) -> HlsStream:
    """Checked by mypy: the integration's `Stream` satisfies the protocol the views are written against."""
    return stream


class ObservedBuffer(MediaBuffer):
    """A real media buffer that also tells the test when a request starts waiting on it."""

    def __init__(self) -> None:
        super().__init__(max_segments=5)
        self.waiting = asyncio.Event()

    async def wait_for_change(self, timeout: float | None) -> bool:
        self.waiting.set()
        return await super().wait_for_change(timeout)


@dataclass
class FakeOrientation:
    orientation: int = 1


@dataclass
class FakeOutput:
    buffer: ObservedBuffer
    stream_settings: StreamSettings
    dynamic_stream_settings: FakeOrientation = field(default_factory=FakeOrientation)
    idle: bool = False
    awakened: int = 0
    clients: list[str] = field(default_factory=list)

    def awake(self) -> None:
        self.awakened += 1

    def saw_client(self, client: str, /) -> None:
        self.clients.append(client)


@dataclass
class FakeStream:
    access_token: str | None
    output: FakeOutput
    providers: list[str] = field(default_factory=list)
    starts: int = 0

    def add_provider(self, fmt: str, /) -> FakeOutput:
        self.providers.append(fmt)
        return self.output

    async def start(self) -> None:
        self.starts += 1

    # -- feeding the buffer -----------------------------------------------------------------------------------

    @property
    def buffer(self) -> ObservedBuffer:
        return self.output.buffer

    def add(self, sequence: int, *, last: bool = False, discontinuity: int = 0, init: bytes = b"") -> bytes:
        """Add the next part of segment `sequence`; returns its bytes (unique per part)."""
        segment = self.buffer.get_segment(sequence)
        index = len(segment.parts) if segment is not None else 0
        header = (
            segment.header
            if segment is not None
            else SegmentHeader(
                sequence=sequence,
                discontinuity=discontinuity,
                init=init or b"init-%d" % discontinuity,
                codecs="avc1.64001f",
                program_date_time=datetime(2026, 10, 4, tzinfo=UTC) + timedelta(seconds=2 * sequence),
                width=640,
                height=480,
            )
        )
        data = b"moof+mdat %d.%d " % (sequence, index) + bytes(200)
        self.buffer.add_part(header, Part(0.5, index == 0, data), last)
        return data

    def add_segment(self, sequence: int, parts: int = 4, **kwargs: Any) -> bytes:
        """A complete segment of `parts` parts; returns its bytes."""
        return b"".join(self.add(sequence, last=i == parts - 1, **kwargs) for i in range(parts))


@pytest.fixture
async def stream(hass: HomeAssistant) -> FakeStream:
    assert await async_setup_component(hass, "http", {})
    fake = FakeStream(TOKEN, FakeOutput(ObservedBuffer(), LL))
    other = FakeStream(None, FakeOutput(ObservedBuffer(), LL))  # a stream nobody asked a URL for
    hass.data["stream"] = {"streams": [other, fake], "settings": LL}
    async_register_hls_views(hass)
    return fake


@pytest.fixture
async def client(hass_client_no_auth: ClientFactory, stream: FakeStream) -> TestClient[Any, Any]:
    return await hass_client_no_auth()


def url(path: str, token: str = TOKEN) -> str:
    return f"/api/hls/{token}/{path}"


async def parked(stream: FakeStream, request: asyncio.Task[ClientResponse]) -> None:
    """Wait until `request` is waiting on the buffer (and has not answered)."""
    await asyncio.wait_for(stream.buffer.waiting.wait(), WAIT)
    stream.buffer.waiting.clear()
    assert not request.done()


async def answer(request: asyncio.Task[ClientResponse]) -> ClientResponse:
    return await asyncio.wait_for(request, WAIT)


# -- lookup -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["master_playlist.m3u8", "playlist.m3u8", "init.mp4", "segment/0.m4s", "segment/0.0.m4s"]
)
@pytest.mark.parametrize("token", ["f" * 64, "0123", TOKEN[:-1] + "0"])
async def test_unknown_token(client: TestClient[Any, Any], stream: FakeStream, path: str, token: str) -> None:
    stream.add_segment(0)
    response = await client.get(url(path, token))
    assert response.status == 404
    assert stream.starts == 0


async def test_every_view_starts_the_stream(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add_segment(0)
    for path in ("master_playlist.m3u8", "playlist.m3u8", "init.mp4", "segment/0.m4s", "segment/0.1.m4s"):
        assert (await client.get(url(path))).status == 200
    assert stream.providers == ["hls"] * 5
    assert stream.starts == 5
    assert stream.output.awakened == 3  # init, segment and part; not the playlists without directives


async def test_every_view_reports_its_client_as_a_viewer(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add_segment(0)
    for path in ("master_playlist.m3u8", "playlist.m3u8", "init.mp4", "segment/0.m4s", "segment/0.1.m4s"):
        assert (await client.get(url(path), headers={"User-Agent": "player/1"})).status == 200
    assert stream.output.clients == ["127.0.0.1 player/1"] * 5


# -- master playlist --------------------------------------------------------------------------------------------


async def test_master_playlist_answers_at_the_first_part(client: TestClient[Any, Any], stream: FakeStream) -> None:
    request = asyncio.create_task(client.get(url("master_playlist.m3u8")))
    await parked(stream, request)
    stream.add(0)
    response = await answer(request)
    assert response.status == 200
    assert response.headers["Content-Type"] == PLAYLIST_TYPE
    playlist = m3u8.loads(await response.text())
    (variant,) = playlist.playlists
    assert variant.uri == "playlist.m3u8"
    assert variant.stream_info.codecs == "avc1.64001f"
    assert variant.stream_info.resolution == (640, 480)
    assert variant.stream_info.bandwidth > 0


async def test_master_playlist_resolution_follows_orientation(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add(0)
    stream.output.dynamic_stream_settings.orientation = 8
    response = await client.get(url("master_playlist.m3u8"))
    assert "RESOLUTION=480x640" in await response.text()


async def test_master_playlist_404_when_the_stream_stops(client: TestClient[Any, Any], stream: FakeStream) -> None:
    request = asyncio.create_task(client.get(url("master_playlist.m3u8")))
    await parked(stream, request)
    stream.buffer.close()
    assert (await answer(request)).status == 404


# -- media playlist ---------------------------------------------------------------------------------------------


async def test_first_playlist_load_waits_for_a_complete_segment(
    client: TestClient[Any, Any], stream: FakeStream
) -> None:
    stream.add(0)
    request = asyncio.create_task(client.get(url("playlist.m3u8")))
    await parked(stream, request)
    stream.add(0)
    await parked(stream, request)  # a part is not enough
    stream.add(0, last=True)
    response = await answer(request)
    assert response.status == 200
    assert response.headers["Content-Type"] == PLAYLIST_TYPE
    playlist = m3u8.loads(await response.text())
    assert [s.uri for s in playlist.segments] == ["./segment/0.m4s"]
    assert playlist.preload_hint.uri == "./segment/1.0.m4s"


async def test_blocking_reload_returns_once_the_part_exists(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add_segment(0)
    stream.add(1)
    request = asyncio.create_task(client.get(url("playlist.m3u8?_HLS_msn=1&_HLS_part=1")))
    await parked(stream, request)
    stream.add(1)
    response = await answer(request)
    assert response.status == 200
    text = await response.text()
    assert '#EXT-X-PART:DURATION=0.49999,URI="./segment/1.1.m4s"' in text.splitlines()
    assert text.endswith('#EXT-X-PRELOAD-HINT:TYPE=PART,URI="./segment/1.2.m4s"\n')
    assert stream.output.awakened == 1


async def test_blocking_reload_past_the_last_part_waits_for_the_next_segment(
    client: TestClient[Any, Any], stream: FakeStream
) -> None:
    stream.add_segment(0, parts=2)
    request = asyncio.create_task(client.get(url("playlist.m3u8?_HLS_msn=0&_HLS_part=2")))
    await parked(stream, request)
    stream.add(1)
    response = await answer(request)
    assert '"./segment/1.0.m4s"' in await response.text()


async def test_blocking_reload_for_a_whole_segment(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add_segment(0)
    stream.add(1)
    request = asyncio.create_task(client.get(url("playlist.m3u8?_HLS_msn=1")))
    await parked(stream, request)
    stream.add(1)
    await parked(stream, request)
    stream.add(1, last=True)
    response = await answer(request)
    assert "./segment/1.m4s" in (await response.text()).splitlines()


async def test_blocking_reload_for_what_is_gone_answers_at_once(
    client: TestClient[Any, Any], stream: FakeStream
) -> None:
    for sequence in range(3, 9):
        stream.add_segment(sequence, parts=1)
    response = await client.get(url("playlist.m3u8?_HLS_msn=2&_HLS_part=0"))
    assert response.status == 200
    assert "#EXT-X-MEDIA-SEQUENCE:6" in await response.text()


async def test_blocking_reload_times_out_with_503(
    client: TestClient[Any, Any], stream: FakeStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "BLOCKING_RELOAD_TARGETS", 0.05)  # 0.1 s instead of three target durations
    stream.add(0)
    response = await client.get(url("playlist.m3u8?_HLS_msn=0&_HLS_part=1"))
    assert response.status == 503


async def test_blocking_reload_404_when_the_stream_stops(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add(0)
    request = asyncio.create_task(client.get(url("playlist.m3u8?_HLS_msn=0&_HLS_part=1")))
    await parked(stream, request)
    stream.buffer.close()
    assert (await answer(request)).status == 404


@pytest.mark.parametrize(
    "query",
    [
        "_HLS_part=1",  # part without msn
        "_HLS_msn=4",  # more than last + 2
        "_HLS_msn=x",
        "_HLS_msn=-1",
        "_HLS_msn=1.5",
        "_HLS_msn=1&_HLS_part=",
        "_HLS_msn=1&_HLS_part=7",  # more than the advance part limit (6) past the last part (1.0)
        "_HLS_skip=maybe",
        "_HLS_msn=" + "9" * 5000,  # no 500 from int()'s digit limit
    ],
)
async def test_bad_directives(client: TestClient[Any, Any], stream: FakeStream, query: str) -> None:
    stream.add_segment(0)
    stream.add(1)
    response = await client.get(url(f"playlist.m3u8?{query}"))
    assert response.status == 400


async def test_delta_update_request(client: TestClient[Any, Any], stream: FakeStream) -> None:
    """Our window is shorter than CAN-SKIP-UNTIL, so a delta update request gets the full playlist."""
    for sequence in range(5):
        stream.add_segment(sequence)
    skip = await client.get(url("playlist.m3u8?_HLS_msn=4&_HLS_part=3&_HLS_skip=YES"))
    plain = await client.get(url("playlist.m3u8"))
    assert skip.status == 200
    assert await skip.text() == await plain.text()


async def test_concurrent_waiters_share_one_render(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add(0)
    requests = [
        asyncio.create_task(client.get(url("playlist.m3u8?_HLS_msn=0&_HLS_part=1"), headers={"Accept-Encoding": e}))
        for e in ("gzip", "gzip", "identity")
    ]
    await parked(stream, requests[0])
    stream.add(0)
    bodies = {await (await answer(request)).text() for request in requests}
    assert len(bodies) == 1


# -- compression, CORS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["playlist.m3u8", "master_playlist.m3u8"])
async def test_playlists_are_gzipped(client: TestClient[Any, Any], stream: FakeStream, path: str) -> None:
    stream.add_segment(0)
    gzipped = await client.get(url(path), headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert gzipped.headers["Vary"] == "Accept-Encoding"
    plain = await client.get(url(path), headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    refused = await client.get(url(path), headers={"Accept-Encoding": "gzip;q=0, deflate"})
    assert "Content-Encoding" not in refused.headers
    assert await gzipped.text() == await plain.text() == await refused.text()
    assert (await plain.text()).startswith("#EXTM3U\n")


async def test_cors(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add_segment(0)
    origin = "https://cast.example.com"
    for path in ("master_playlist.m3u8", "playlist.m3u8", "init.mp4", "segment/0.m4s", "segment/0.0.m4s"):
        response = await client.get(url(path), headers={"Origin": origin})
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] in (origin, "*")


# -- parts and segments -----------------------------------------------------------------------------------------


async def test_existing_part(client: TestClient[Any, Any], stream: FakeStream) -> None:
    first = stream.add(0)
    response = await client.get(url("segment/0.0.m4s"))
    assert response.status == 200
    assert response.headers["Content-Type"] == SEGMENT_TYPE
    assert await response.read() == first
    assert stream.output.awakened == 1


async def test_hinted_part_blocks_until_it_exists(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add(0)
    request = asyncio.create_task(client.get(url("segment/0.1.m4s")))
    await parked(stream, request)
    data = stream.add(0)
    response = await answer(request)
    assert response.status == 200
    assert await response.read() == data


async def test_hinted_first_part_of_the_next_segment(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add_segment(0, parts=2)
    request = asyncio.create_task(client.get(url("segment/1.0.m4s")))
    await parked(stream, request)
    data = stream.add(1)
    assert await (await answer(request)).read() == data


async def test_hinted_part_that_never_comes(client: TestClient[Any, Any], stream: FakeStream) -> None:
    """The segment ended (a restart) without the hinted part: 404 as soon as that is known."""
    stream.add(0)
    request = asyncio.create_task(client.get(url("segment/0.1.m4s")))
    await parked(stream, request)
    stream.buffer.end_segment()
    assert (await answer(request)).status == 404


async def test_hinted_part_times_out_with_503(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.output.stream_settings = StreamSettings(
        ll_hls=True,
        min_segment_duration=1.9,
        part_target_duration=0.02,
        hls_advance_part_limit=6,
        hls_part_timeout=0.04,
    )
    stream.add(0)
    assert (await client.get(url("segment/0.1.m4s"))).status == 503


@pytest.mark.parametrize("path", ["segment/0.2.m4s", "segment/1.0.m4s", "segment/2.0.m4s", "segment/9.m4s"])
async def test_future_media_beyond_the_hint(client: TestClient[Any, Any], stream: FakeStream, path: str) -> None:
    stream.add(0)
    assert (await client.get(url(path))).status == 404


async def test_gone_media(client: TestClient[Any, Any], stream: FakeStream) -> None:
    for sequence in range(7):
        stream.add_segment(sequence, parts=1)
    for path in ("segment/1.0.m4s", "segment/1.m4s"):
        assert (await client.get(url(path))).status == 404
    assert (await client.get(url("segment/2.m4s"))).status == 200


async def test_complete_segment(client: TestClient[Any, Any], stream: FakeStream) -> None:
    data = stream.add_segment(0, parts=3)
    response = await client.get(url("segment/0.m4s"))
    assert response.status == 200
    assert response.headers["Content-Type"] == SEGMENT_TYPE
    assert await response.read() == data


async def test_segment_being_written_is_served_once_complete(client: TestClient[Any, Any], stream: FakeStream) -> None:
    first = stream.add(0)
    request = asyncio.create_task(client.get(url("segment/0.m4s")))
    await parked(stream, request)
    rest = stream.add(0, last=True)
    assert await (await answer(request)).read() == first + rest


# -- the camera gone (the worker's run failed) ------------------------------------------------------------------
# While the camera is down, playlists and media not written yet answer 503 at once (blocked requests the moment it
# fails); what exists is still served; the first part of the next run ends it.


@pytest.mark.parametrize(
    "path", ["playlist.m3u8?_HLS_msn=1&_HLS_part=2", "playlist.m3u8?_HLS_msn=2", "segment/2.0.m4s"]
)
async def test_blocked_requests_answer_503_when_the_camera_fails(
    client: TestClient[Any, Any], stream: FakeStream, path: str
) -> None:
    stream.add_segment(0)
    stream.add(1)
    stream.add(1)
    if path == "segment/2.0.m4s":
        stream.add(1, last=True)  # the hint moves to the next segment
    request = asyncio.create_task(client.get(url(path)))
    await parked(stream, request)
    stream.buffer.source_down()
    assert (await answer(request)).status == 503


async def test_hinted_part_of_the_segment_the_failure_ended_is_404(
    client: TestClient[Any, Any], stream: FakeStream
) -> None:
    """The failed run's last segment is complete without the hinted part: that part will never exist."""
    stream.add(0)
    request = asyncio.create_task(client.get(url("segment/0.1.m4s")))
    await parked(stream, request)
    stream.buffer.source_down()
    assert (await answer(request)).status == 404


async def test_segment_being_written_when_the_camera_fails_is_served(
    client: TestClient[Any, Any], stream: FakeStream
) -> None:
    stream.add_segment(0)
    first = stream.add(1)
    request = asyncio.create_task(client.get(url("segment/1.m4s")))
    await parked(stream, request)
    stream.buffer.source_down()
    response = await answer(request)
    assert response.status == 200
    assert await response.read() == first


@pytest.mark.parametrize(
    "path",
    [
        "master_playlist.m3u8",
        "playlist.m3u8",
        "playlist.m3u8?_HLS_msn=1&_HLS_part=0",
        "segment/1.0.m4s",
        "segment/1.m4s",
    ],
)
async def test_new_requests_while_the_camera_is_down_answer_503_at_once(
    client: TestClient[Any, Any], stream: FakeStream, path: str
) -> None:
    stream.add_segment(0)
    stream.buffer.source_down()
    assert (await client.get(url(path))).status == 503
    assert not stream.buffer.waiting.is_set()  # answered without waiting


async def test_blocking_reload_the_failed_run_satisfied_is_answered(
    client: TestClient[Any, Any], stream: FakeStream
) -> None:
    """The failed run's last part arrives just before the failure: the reload waiting for it gets its playlist."""
    stream.add_segment(0)
    request = asyncio.create_task(client.get(url("playlist.m3u8?_HLS_msn=1&_HLS_part=0")))
    await parked(stream, request)
    stream.add(1)
    stream.buffer.source_down()
    response = await answer(request)
    assert response.status == 200
    assert '"./segment/1.0.m4s"' in await response.text()
    assert (await client.get(url("playlist.m3u8?_HLS_msn=1&_HLS_part=1"))).status == 503  # the next one: not now


async def test_media_that_exists_is_served_while_the_camera_is_down(
    client: TestClient[Any, Any], stream: FakeStream
) -> None:
    data = stream.add_segment(0, parts=2)
    stream.buffer.source_down()
    for path in ("init.mp4", "segment/0.m4s", "segment/0.1.m4s"):
        assert (await client.get(url(path))).status == 200
    assert await (await client.get(url("segment/0.m4s"))).read() == data


async def test_the_next_run_s_first_part_ends_the_outage(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add_segment(0)
    stream.buffer.source_down()
    assert (await client.get(url("playlist.m3u8"))).status == 503
    request = asyncio.create_task(client.get(url("segment/1.0.m4s")))  # a player retrying the next part...
    assert (await answer(request)).status == 503
    stream.add(1, discontinuity=1)
    response = await client.get(url("playlist.m3u8"))
    assert response.status == 200
    assert "#EXT-X-DISCONTINUITY" in await response.text()
    assert (await client.get(url("segment/1.0.m4s"))).status == 200


# -- init -------------------------------------------------------------------------------------------------------


def tiny_init(width: int = 640, height: int = 480) -> bytes:
    """ftyp + moov with one video track: enough for the orientation matrix to be written."""
    tkhd = full_box(
        b"tkhd",
        0,
        3,
        bytes(20),
        bytes(8),
        bytes(8),
        orientation_matrix(1),
        struct.pack(">II", width << 16, height << 16),
    )
    hdlr = full_box(b"hdlr", 0, 0, bytes(4), b"vide", bytes(12), b"video\0")
    return box(b"ftyp", b"iso5", bytes(4)) + box(b"moov", box(b"trak", tkhd, box(b"mdia", hdlr)))


async def test_init(client: TestClient[Any, Any], stream: FakeStream) -> None:
    init = tiny_init()
    stream.add_segment(0, init=init)
    response = await client.get(url("init.mp4"))
    assert response.status == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert await response.read() == init
    assert stream.output.awakened == 1


async def test_init_with_orientation(client: TestClient[Any, Any], stream: FakeStream) -> None:
    init = tiny_init()
    stream.add_segment(0, init=init)
    stream.output.dynamic_stream_settings.orientation = 6
    body = await (await client.get(url("init.mp4"))).read()
    assert body == transform_init(init, 6) != init


async def test_init_per_discontinuity(client: TestClient[Any, Any], stream: FakeStream) -> None:
    stream.add_segment(0, discontinuity=4, init=b"old init")
    stream.add_segment(1, discontinuity=5, init=b"new init")
    text = await (await client.get(url("playlist.m3u8"))).text()
    assert '#EXT-X-MAP:URI="init.mp4?d=5"' in text.splitlines()
    assert await (await client.get(url("init.mp4?d=5"))).read() == b"new init"
    assert await (await client.get(url("init.mp4?d=4"))).read() == b"old init"
    assert await (await client.get(url("init.mp4"))).read() == b"old init"  # the built-in's choice: the oldest
    assert (await client.get(url("init.mp4?d=6"))).status == 404
    assert (await client.get(url("init.mp4?d=five"))).status == 400


async def test_init_before_any_media(client: TestClient[Any, Any], stream: FakeStream) -> None:
    assert (await client.get(url("init.mp4"))).status == 404
