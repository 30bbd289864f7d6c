"""The HLS endpoints (same URLs and names as the built-in's), serving from the stream's media buffer.

Every request that must wait does so on `MediaBuffer.wait_until`, re-checking its condition on each new part. What a
request gets when the media it wants is not there:

- **503 while the camera is down** (its last run failed; the worker is trying it again): playlist requests, blocked
  or new, and requests for media not written yet. A failed run wakes every waiter at once, so they learn it as soon
  as the worker does, not at their deadline. 503 is the spec's answer for a request the server cannot satisfy now
  (rfc8216bis: a blocking reload still unmet after 3 target durations); players (hls.js) retry it with back-off and
  keep their playlist, which continues with a discontinuity once the camera is back. A 4xx is fatal to them.
- **404 when it will never be there**: the stream stopped (its URLs end with its access token; a blocked request
  learns at once), a part the playlist will never list (its segment ended first), media gone from the buffer or
  too far ahead, an unknown token.
- **503 when it is late** (the camera runs but the media did not come before the deadline): the spec's case.

Media that exists (init, parts, complete segments) is served whatever the camera does.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from http import HTTPStatus

from aiohttp import web
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import HomeAssistantView

from ...const import ATTR_STREAMS, DOMAIN, HLS_PROVIDER
from ...remux.fmp4.orientation import transform_init
from ...remux.media import MediaBuffer
from .cache import RenderCache, RenderedPlaylist
from .directives import DirectiveError, check_directives, directives_reached, parse_directives
from .master import render_master_playlist
from .playlist import preload_hint
from .protocol import HlsOutput, HlsStream
from .responses import (
    INIT_CONTENT_TYPE,
    SEGMENT_CONTENT_TYPE,
    error_response,
    media_response,
    playlist_response,
)

_LOGGER = logging.getLogger(__name__)

# How long a playlist request waits for the stream's first media: opening a camera may take SOURCE_TIMEOUT.
FIRST_MEDIA_TIMEOUT = 30.0
# A blocking playlist request still unanswered after this many target durations gets 503 (the spec's SHOULD).
BLOCKING_RELOAD_TARGETS = 3
# A request for the hinted part waits this many part targets (at least hls_part_timeout) for it.
HINTED_PART_TARGETS = 3

_TOKEN = re.compile(r"[0-9a-f]{64}")
_INDEX = re.compile(r"[0-9]{1,18}")  # the routes' \d also matches non-ASCII digits


@callback
def async_register_hls_views(hass: HomeAssistant) -> None:
    """Register the five HLS views; they share one render cache."""
    cache = RenderCache()
    for view in (
        HlsMasterPlaylistView(hass, cache),
        HlsPlaylistView(hass, cache),
        HlsInitView(hass, cache),
        HlsSegmentView(hass, cache),
        HlsPartView(hass, cache),
    ):
        hass.http.register_view(view)


def find_stream(hass: HomeAssistant, token: str) -> HlsStream | None:
    """The stream whose access token is `token` (compared in constant time: the token is the credential)."""
    if not _TOKEN.fullmatch(token):
        return None
    domain_data = hass.data.get(DOMAIN)
    streams: list[HlsStream] = domain_data.get(ATTR_STREAMS, []) if isinstance(domain_data, Mapping) else []
    for stream in streams:
        stream_token = stream.access_token
        if stream_token is not None and secrets.compare_digest(stream_token.encode(), token.encode()):
            return stream
    return None


class HlsView(HomeAssistantView):
    """Common part of the HLS views: the URL token is the credential, any origin may fetch."""

    requires_auth = False
    cors_allowed = True

    def __init__(self, hass: HomeAssistant, cache: RenderCache) -> None:
        self._hass = hass
        self._cache = cache

    async def _output(self, request: web.Request, token: str) -> HlsOutput | None:
        """The stream's hls output (recreated if it expired), with the worker started; None for a bad token."""
        if (stream := find_stream(self._hass, token)) is None:
            return None
        output = stream.add_provider(HLS_PROVIDER)
        output.saw_client(_client_key(request))
        await stream.start()
        return output


class HlsMasterPlaylistView(HlsView):
    """The multivariant playlist, answered as soon as the first part exists."""

    url = r"/api/hls/{token:[a-f0-9]+}/master_playlist.m3u8"
    name = "api:stream:hls:master_playlist"

    async def get(self, request: web.Request, token: str) -> web.Response:
        if (output := await self._output(request, token)) is None:
            return error_response(HTTPStatus.NOT_FOUND)
        buffer = output.buffer
        if not await _wait_for_playlist(buffer, lambda: buffer.last_segment is not None, FIRST_MEDIA_TIMEOUT):
            return _unavailable(buffer)
        orientation = int(output.dynamic_stream_settings.orientation)
        text = render_master_playlist(buffer.segments, output.stream_settings, orientation)
        return playlist_response(request, RenderedPlaylist(text))


class HlsPlaylistView(HlsView):
    """The media playlist, with blocking reload and delta updates."""

    url = r"/api/hls/{token:[a-f0-9]+}/playlist.m3u8"
    name = "api:stream:hls:playlist"

    async def get(self, request: web.Request, token: str) -> web.Response:
        if (output := await self._output(request, token)) is None:
            return error_response(HTTPStatus.NOT_FOUND)
        try:
            directives = parse_directives(request.query)
        except DirectiveError:
            return error_response(HTTPStatus.BAD_REQUEST)
        buffer, settings = output.buffer, output.stream_settings
        renders = self._cache.renders(buffer)

        if directives.blocking:
            output.awake()
            try:
                check_directives(directives, buffer.segments, settings.hls_advance_part_limit)
            except DirectiveError:
                return error_response(HTTPStatus.BAD_REQUEST)
            timeout = BLOCKING_RELOAD_TARGETS * renders.target_duration(buffer.segments, settings)
            reached = await _wait_for_media(buffer, lambda: directives_reached(directives, buffer.segments), timeout)
            if not reached or buffer.closed:
                return _unavailable(buffer)
        elif not await _first_load_ready(buffer):
            return _unavailable(buffer)

        segments = buffer.segments
        if not segments:
            return error_response(HTTPStatus.NOT_FOUND)
        playlist = renders.media_playlist(segments, settings, skip=directives.skip and settings.ll_hls)
        return playlist_response(request, playlist)


class HlsInitView(HlsView):
    """The init segment (ftyp+moov), with the camera's orientation written into the video track's matrix.

    `?d=<discontinuity>` (what the playlist's EXT-X-MAP names) selects the init of that run of the worker; without
    it, the init of the oldest held segment is served, like the built-in.
    """

    url = r"/api/hls/{token:[a-f0-9]+}/init.mp4"
    name = "api:stream:hls:init"

    async def get(self, request: web.Request, token: str) -> web.Response:
        if (output := await self._output(request, token)) is None:
            return error_response(HTTPStatus.NOT_FOUND)
        output.awake()
        segments = output.buffer.segments
        if (discontinuity_text := request.query.get("d")) is None:
            segment = segments[0] if segments else None
        elif (discontinuity := _index(discontinuity_text)) is None:
            return error_response(HTTPStatus.BAD_REQUEST)
        else:
            segment = next((seg for seg in segments if seg.discontinuity == discontinuity), None)
        if segment is None or not segment.init:
            return error_response(HTTPStatus.NOT_FOUND)
        orientation = int(output.dynamic_stream_settings.orientation)
        body = segment.init
        if orientation != 1:  # the writer's init already carries the identity matrix
            body = self._cache.renders(output.buffer).init(body, orientation, _transform_or_keep)
        return media_response(body, INIT_CONTENT_TYPE)


class HlsSegmentView(HlsView):
    """A whole segment (its parts, no init).

    Only complete segments are listed, so a request for the one being written (or the next) comes early: it waits
    for the segment to complete rather than hand out a truncated one, which a plain HLS client would take as whole.
    """

    url = r"/api/hls/{token:[a-f0-9]+}/segment/{sequence:\d+}.m4s"
    name = "api:stream:hls:segment"

    async def get(self, request: web.Request, token: str, sequence: str) -> web.Response:
        if (output := await self._output(request, token)) is None:
            return error_response(HTTPStatus.NOT_FOUND)
        output.awake()
        buffer = output.buffer
        if (number := _index(sequence)) is None:
            return error_response(HTTPStatus.NOT_FOUND)
        segment = buffer.get_segment(number)
        if segment is None and number != buffer.last_sequence + 1:
            return error_response(HTTPStatus.NOT_FOUND)  # gone, or too far ahead
        if segment is None or not segment.complete:

            def settled() -> bool:
                held = buffer.get_segment(number)
                return (held is not None and held.complete) or buffer.last_sequence > number

            settings = output.stream_settings
            timeout = BLOCKING_RELOAD_TARGETS * self._cache.renders(buffer).target_duration(buffer.segments, settings)
            reached = await _wait_for_media(buffer, settled, timeout)
            segment = buffer.get_segment(number)
            if segment is None or not segment.complete:
                return _missing(buffer, reached)
        return media_response(segment.data(), SEGMENT_CONTENT_TYPE)


class HlsPartView(HlsView):
    """One part. The part the playlist's preload hint names is held until it exists, per LL-HLS."""

    url = r"/api/hls/{token:[a-f0-9]+}/segment/{sequence:\d+}.{part_num:\d+}.m4s"
    name = "api:stream:hls:part"

    async def get(self, request: web.Request, token: str, sequence: str, part_num: str) -> web.Response:
        if (output := await self._output(request, token)) is None:
            return error_response(HTTPStatus.NOT_FOUND)
        output.awake()
        buffer = output.buffer
        number, index = _index(sequence), _index(part_num)
        if number is None or index is None:
            return error_response(HTTPStatus.NOT_FOUND)
        segment = buffer.get_segment(number)
        if segment is not None and index < len(segment.parts):
            return media_response(segment.parts[index].data, SEGMENT_CONTENT_TYPE)
        if preload_hint(buffer.segments) != (number, index):
            return error_response(HTTPStatus.NOT_FOUND)  # gone, never to be, or further ahead than the hint

        def settled() -> bool:
            held = buffer.get_segment(number)
            if held is not None:
                return len(held.parts) > index or held.complete
            return buffer.last_sequence > number

        settings = output.stream_settings
        timeout = max(settings.hls_part_timeout, HINTED_PART_TARGETS * settings.part_target_duration)
        reached = await _wait_for_media(buffer, settled, timeout)
        segment = buffer.get_segment(number)
        if segment is not None and index < len(segment.parts):
            return media_response(segment.parts[index].data, SEGMENT_CONTENT_TYPE)
        return _missing(buffer, reached)


async def _first_load_ready(buffer: MediaBuffer) -> bool:
    """A playlist load without directives waits for a complete segment: hls.js rejects a playlist whose only
    segment is still being written ("No Segments found"), fatally on a first load. Past the deadline, whatever
    exists is served; nothing while the camera is down."""
    await _wait_for_playlist(buffer, lambda: any(segment.complete for segment in buffer.segments), FIRST_MEDIA_TIMEOUT)
    return bool(buffer.segments) and not buffer.down


async def _wait_for_playlist(buffer: MediaBuffer, predicate: Callable[[], bool], timeout: float) -> bool:
    """Wait until `predicate()` holds; False at the deadline, when the stream stops, or at once while the camera is
    down (a playlist without directives then would only repeat what the player has)."""
    await buffer.wait_until(lambda: buffer.down or predicate(), timeout)
    return not buffer.down and not buffer.closed and predicate()


async def _wait_for_media(buffer: MediaBuffer, predicate: Callable[[], bool], timeout: float) -> bool:
    """Wait until `predicate()` holds (the media exists or never will); False at the deadline, when the stream
    stops, or at once while the camera is down. What the failed run still delivered (its last part, its last
    segment completed) counts: a blocking reload it satisfies gets its playlist."""
    await buffer.wait_until(lambda: buffer.down or predicate(), timeout)
    return predicate()


def _unavailable(buffer: MediaBuffer) -> web.Response:
    """A playlist wait ended unmet: the stream stopped (404), or the camera is down or late (503, clients retry)."""
    return error_response(HTTPStatus.NOT_FOUND if buffer.closed else HTTPStatus.SERVICE_UNAVAILABLE)


def _missing(buffer: MediaBuffer, settled: bool) -> web.Response:
    """Media still missing after its wait: it will never come or the stream stopped (404), else the camera is down
    or the media is late (503)."""
    return error_response(HTTPStatus.NOT_FOUND if settled or buffer.closed else HTTPStatus.SERVICE_UNAVAILABLE)


def _client_key(request: web.Request) -> str:
    """Who is asking, for counting viewers: address and User-Agent (two tabs of one browser count once)."""
    return f"{request.remote} {request.headers.get('User-Agent', '')}"


def _index(text: str) -> int | None:
    return int(text) if _INDEX.fullmatch(text) else None


def _transform_or_keep(init: bytes, orientation: int) -> bytes:
    """The orientation-patched init; a malformed init is served as it is rather than failing the request."""
    try:
        return transform_init(init, orientation)
    except ValueError:
        _LOGGER.warning("Could not apply orientation %s to the init segment", orientation)
        return init


__all__ = [
    "HlsInitView",
    "HlsMasterPlaylistView",
    "HlsPartView",
    "HlsPlaylistView",
    "HlsSegmentView",
    "async_register_hls_views",
    "find_stream",
]
