"""HTTP responses of the HLS views: content types, pre-compressed playlists, bodiless errors."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import hdrs, web

from ...const import FORMAT_CONTENT_TYPE, HLS_PROVIDER
from .cache import RenderedPlaylist

PLAYLIST_CONTENT_TYPE = FORMAT_CONTENT_TYPE[HLS_PROVIDER]  # application/vnd.apple.mpegurl
INIT_CONTENT_TYPE = "video/mp4"
SEGMENT_CONTENT_TYPE = "video/iso.segment"


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (a `q=0` refuses it)."""
    for item in accept_encoding.split(","):
        coding, _, parameters = item.partition(";")
        if coding.strip().lower() != "gzip":
            continue
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def playlist_response(request: web.Request, playlist: RenderedPlaylist) -> web.Response:
    """The playlist, gzipped when the client takes it (the gzip body is shared by every waiter)."""
    headers = {hdrs.CONTENT_TYPE: PLAYLIST_CONTENT_TYPE, hdrs.VARY: hdrs.ACCEPT_ENCODING}
    if accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING, "")):
        headers[hdrs.CONTENT_ENCODING] = "gzip"
        return web.Response(body=playlist.gzipped, headers=headers)
    return web.Response(body=playlist.body, headers=headers)


def media_response(body: bytes, content_type: str) -> web.Response:
    return web.Response(body=body, headers={hdrs.CONTENT_TYPE: content_type})


def error_response(status: HTTPStatus) -> web.Response:
    return web.Response(status=status)
