"""Renders shared between requests: every blocked playlist request wakes on the same new part, so the playlist
(and its gzip body) is built once per buffer change; the orientation-patched init once per init."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from ...remux.media import MediaBuffer, Part, Segment
from ...settings import StreamSettings
from .playlist import playlist_window, render_media_playlist, target_duration

GZIP_LEVEL = 6


def _settings_key(settings: StreamSettings) -> tuple[object, ...]:
    """What a render depends on in `settings`, read field by field (a generic dataclass-to-tuple copies deeply, and
    this runs on every playlist request)."""
    return (
        settings.ll_hls,
        settings.min_segment_duration,
        settings.part_target_duration,
        settings.hls_advance_part_limit,
        settings.hls_part_timeout,
        settings.part_hold_back_factor,
    )


class RenderedPlaylist:
    """A playlist body, with its gzip encoding made on first demand and kept."""

    __slots__ = ("_gzipped", "body")

    def __init__(self, text: str) -> None:
        self.body = text.encode()
        self._gzipped: bytes | None = None

    @property
    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, GZIP_LEVEL, mtime=0)
        return self._gzipped


class BufferRenders:
    """What has been rendered from one media buffer."""

    def __init__(self) -> None:
        # skip flag -> (identity of the buffer state it was rendered from, playlist)
        self._playlists: dict[bool, tuple[tuple[Any, ...], Part, RenderedPlaylist]] = {}
        self._target: tuple[tuple[Any, ...], int] | None = None
        self._init: tuple[bytes, int, bytes] | None = None

    def target_duration(self, segments: list[Segment], settings: StreamSettings) -> int:
        """The target duration of every held segment, never shrinking: the spec says it must not change, and some
        cameras stretch a GOP now and then."""
        settings_key = _settings_key(settings)
        computed = target_duration(segments, settings)
        if self._target is not None and self._target[0] == settings_key:
            computed = max(computed, self._target[1])
        self._target = (settings_key, computed)
        return computed

    def media_playlist(self, segments: list[Segment], settings: StreamSettings, *, skip: bool) -> RenderedPlaylist:
        """The playlist for the buffer's `segments` (at least one), rendered only if a part came since last time."""
        last = segments[-1]
        last_part = last.parts[-1]
        state = (last.sequence, len(last.parts), last.complete, _settings_key(settings))
        cached = self._playlists.get(skip)
        if cached is not None and cached[0] == state and cached[1] is last_part:
            return cached[2]
        target = self.target_duration(segments, settings)
        text = render_media_playlist(playlist_window(segments), settings, skip=skip, target=target)
        playlist = RenderedPlaylist(text)
        self._playlists[skip] = (state, last_part, playlist)
        return playlist

    def init(self, init: bytes, orientation: int, transform: Callable[[bytes, int], bytes]) -> bytes:
        """`init` with the orientation applied by `transform`, kept while the same init is asked for."""
        if self._init is not None and self._init[0] is init and self._init[1] == orientation:
            return self._init[2]
        transformed = transform(init, orientation)
        self._init = (init, orientation, transformed)
        return transformed


class RenderCache:
    """One `BufferRenders` per media buffer, dropped with the buffer."""

    def __init__(self) -> None:
        self._renders: WeakKeyDictionary[MediaBuffer, BufferRenders] = WeakKeyDictionary()

    def renders(self, buffer: MediaBuffer) -> BufferRenders:
        if (renders := self._renders.get(buffer)) is None:
            renders = self._renders[buffer] = BufferRenders()
        return renders
