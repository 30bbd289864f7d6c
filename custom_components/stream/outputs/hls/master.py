"""The multivariant ("master") playlist: one variant, described from whatever media the buffer already holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...remux.media import Segment
from ...settings import StreamSettings
from .playlist import playlist_version

# Measured rates are of a few seconds of video; the spec tolerates 10 % over BANDWIDTH, cameras vary more.
BANDWIDTH_HEADROOM = 1.2
# Used only when nothing measurable is held (parts without duration): a typical camera main stream.
FALLBACK_BANDWIDTH = 2_000_000

_ROTATED = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height on display

MEDIA_PLAYLIST_URI = "playlist.m3u8"


@dataclass(frozen=True, slots=True)
class BandwidthEstimate:
    """Bits per second: `peak` for BANDWIDTH, `average` for AVERAGE-BANDWIDTH (None until a segment completed)."""

    peak: int
    average: int | None


def estimate_bandwidth(segments: Sequence[Segment]) -> BandwidthEstimate:
    """From complete segments when there are any, else from the parts of the one being written.

    The first part of a segment carries the keyframe, so a rate measured on parts alone errs high, which is the
    safe side for BANDWIDTH.
    """
    complete = [segment for segment in segments if segment.complete and segment.duration > 0]
    if complete:
        peak = max(segment.size() * 8 / segment.duration for segment in complete)
        average = sum(segment.size() for segment in complete) * 8 / sum(segment.duration for segment in complete)
        return BandwidthEstimate(_with_headroom(peak), _with_headroom(average))
    duration = sum(segment.duration for segment in segments)
    size = sum(segment.size() for segment in segments)
    if duration <= 0 or size <= 0:
        return BandwidthEstimate(FALLBACK_BANDWIDTH, None)
    return BandwidthEstimate(_with_headroom(size * 8 / duration), None)


def render_master_playlist(segments: Sequence[Segment], settings: StreamSettings, orientation: int = 1) -> str:
    """The multivariant playlist for the held `segments` (at least one); `orientation` is the EXIF display one."""
    if not segments:
        raise ValueError("A master playlist needs at least one segment")
    header = segments[-1].header
    bandwidth = estimate_bandwidth(segments)
    attributes = [f"BANDWIDTH={bandwidth.peak}"]
    if bandwidth.average is not None:
        attributes.append(f"AVERAGE-BANDWIDTH={bandwidth.average}")
    attributes.append(f'CODECS="{header.codecs}"')
    if header.width > 0 and header.height > 0:
        width, height = (header.height, header.width) if orientation in _ROTATED else (header.width, header.height)
        attributes.append(f"RESOLUTION={width}x{height}")
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{playlist_version(settings)}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f"#EXT-X-STREAM-INF:{','.join(attributes)}",
        MEDIA_PLAYLIST_URI,
    ]
    return "\n".join(lines) + "\n"


def _with_headroom(bits_per_second: float) -> int:
    return max(1, round(bits_per_second * BANDWIDTH_HEADROOM))
