"""The media playlist (RFC 8216bis with the LL-HLS extensions), rendered from the segments the buffer holds.

Pure functions: the views choose the window and the target duration, these only turn segments into text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from ...const import EXT_X_START_NON_LL_HLS, NUM_PLAYLIST_SEGMENTS
from ...remux.media import Segment
from ...settings import StreamSettings

# Plain HLS with fMP4 needs version 6 (EXT-X-MAP). LL-HLS uses 10: EXT-X-SKIP needs 9, and Apple's version table
# asks for 10 when EXT-X-PRELOAD-HINT is present; clients that understand parts all accept 10.
PLAYLIST_VERSION = 6
LL_HLS_PLAYLIST_VERSION = 10

SKIP_BOUNDARY_FACTOR = 6  # CAN-SKIP-UNTIL in target durations: the spec's minimum
PART_LIST_FACTOR = 3  # EXT-X-PART tags stay for segments starting within this many target durations of the end

INIT_URI = "init.mp4"

# Float sums of part durations can overshoot an exact boundary by a few ulps.
_EPSILON = 1e-6
_DURATION_UNITS = 100_000  # durations are written in units of 10 µs
_DURATION_MARGIN = 5e-6  # ... and kept this far under the media's (see media_duration)


def playlist_version(settings: StreamSettings) -> int:
    return LL_HLS_PLAYLIST_VERSION if settings.ll_hls else PLAYLIST_VERSION


def playlist_window(segments: Sequence[Segment], complete_segments: int = NUM_PLAYLIST_SEGMENTS) -> list[Segment]:
    """The newest `complete_segments` complete segments, plus the incomplete one being written."""
    count = complete_segments + (1 if segments and not segments[-1].complete else 0)
    return list(segments[-count:]) if count else []


def target_duration(segments: Iterable[Segment], settings: StreamSettings) -> int:
    """EXT-X-TARGETDURATION: every EXTINF rounded to the nearest integer must fit (the spec's rule; a plain ceil
    would turn a 6.006 s segment into a 7 s target), and never below the configured segment length."""
    configured = math.ceil(settings.min_segment_duration - _EPSILON)
    longest = max((math.floor(segment.duration + 0.5) for segment in segments), default=0)
    return max(configured, longest, 1)


def media_duration(seconds: float) -> str:
    """EXTINF / PART DURATION text: at least 5 µs and at most 15 µs short of the media's duration, never over.

    A player places segments and parts by these durations and asks for what comes after the end of its buffer.
    Chromium reports that end from the media timestamps floored to microseconds (a frame's time and its duration
    each), up to 2 µs short of the true end. If the playlist put the end of a segment even 1 µs past that, hls.js
    would take the segment it just buffered as unfinished and load its parts again and again (each reload of the
    first part evicts the rest of its GOP from the buffer): a stall of seconds right after the first frame.
    """
    units = math.floor((seconds - _DURATION_MARGIN) * _DURATION_UNITS + _EPSILON)
    units = max(units, 0)
    return f"{units // _DURATION_UNITS}.{units % _DURATION_UNITS:05d}"


def skip_boundary(target: int) -> float:
    """CAN-SKIP-UNTIL: how far from the end segments may be left out of a delta update."""
    return float(SKIP_BOUNDARY_FACTOR * target)


def preload_hint(segments: Sequence[Segment]) -> tuple[int, int] | None:
    """(sequence, part index) of the next part to come: what EXT-X-PRELOAD-HINT names."""
    if not segments:
        return None
    last = segments[-1]
    if last.complete:
        return last.sequence + 1, 0
    return last.sequence, len(last.parts)


def init_uri(discontinuity: int) -> str:
    """The init segment's URI; it names the discontinuity so that a new init is fetched after a restart."""
    return f"{INIT_URI}?d={discontinuity}"


def segment_uri(sequence: int) -> str:
    return f"./segment/{sequence}.m4s"


def part_uri(sequence: int, index: int) -> str:
    return f"./segment/{sequence}.{index}.m4s"


def format_program_date_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds (a naive time is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_media_playlist(
    segments: Sequence[Segment],
    settings: StreamSettings,
    *,
    skip: bool = False,
    target: int | None = None,
) -> str:
    """The media playlist of `segments` (already windowed, oldest first).

    `target` overrides the computed EXT-X-TARGETDURATION (the views keep it from shrinking); `skip` asks for a
    delta update, honoured only in LL-HLS mode where CAN-SKIP-UNTIL is advertised.
    """
    if not segments:
        raise ValueError("A media playlist needs at least one segment")
    target = target_duration(segments, settings) if target is None else target
    ll_hls = settings.ll_hls
    lines = _header_lines(segments[0], settings, target)
    skipped = _skippable_count(segments, skip_boundary(target)) if skip and ll_hls else 0
    if skipped:
        lines.append(f"#EXT-X-SKIP:SKIPPED-SEGMENTS={skipped}")
    parts_from = _parts_listed_from(segments, PART_LIST_FACTOR * target) if ll_hls else len(segments)
    lines += _segment_lines(segments, skipped, parts_from, ll_hls)
    if ll_hls and (hint := preload_hint(segments)) is not None:
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{part_uri(*hint)}"')
    return "\n".join(lines) + "\n"


def _header_lines(first: Segment, settings: StreamSettings, target: int) -> list[str]:
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{playlist_version(settings)}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{first.sequence}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{first.discontinuity}",
    ]
    if settings.ll_hls:
        # No EXT-X-START here: hls.js lets it override PART-HOLD-BACK and clamps it to the last complete segment,
        # which would start playback up to a whole segment behind the live edge.
        lines += [
            f"#EXT-X-PART-INF:PART-TARGET={settings.part_target_duration:.3f}",
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
            f"CAN-SKIP-UNTIL={skip_boundary(target):.3f},PART-HOLD-BACK={settings.part_hold_back:.3f}",
        ]
    else:
        # Start a little behind the edge: our window is short and ExoPlayer errors when it falls behind it.
        lines.append(f"#EXT-X-START:TIME-OFFSET=-{EXT_X_START_NON_LL_HLS * target:.3f},PRECISE=YES")
    return lines


def _segment_lines(segments: Sequence[Segment], skipped: int, parts_from: int, ll_hls: bool) -> list[str]:
    """The listed segments from `skipped` on, with their parts from `parts_from` on."""
    lines: list[str] = []
    previous: Segment | None = segments[skipped - 1] if skipped else None
    for index in range(skipped, len(segments)):
        segment = segments[index]
        if not segment.complete and not ll_hls:
            break  # plain HLS lists complete segments only
        new_run = previous is not None and segment.discontinuity != previous.discontinuity
        if new_run:
            lines.append("#EXT-X-DISCONTINUITY")
        if new_run or index == skipped:
            # The first listed segment needs the map (also after a skip); a discontinuity brings a new init.
            lines.append(f'#EXT-X-MAP:URI="{init_uri(segment.discontinuity)}"')
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{format_program_date_time(segment.header.program_date_time)}")
        if index >= parts_from:
            lines.extend(_part_lines(segment))
        if segment.complete:
            lines += [f"#EXTINF:{media_duration(segment.duration)},", segment_uri(segment.sequence)]
        previous = segment
    return lines


def _part_lines(segment: Segment) -> list[str]:
    lines = []
    for index, part in enumerate(segment.parts):
        independent = ",INDEPENDENT=YES" if part.independent else ""
        uri = part_uri(segment.sequence, index)
        lines.append(f'#EXT-X-PART:DURATION={media_duration(part.duration)},URI="{uri}"{independent}')
    return lines


def _parts_listed_from(segments: Sequence[Segment], horizon: float) -> int:
    """Index of the oldest segment whose parts are listed: every one starting within `horizon` of the end.

    Parts go per whole segment (clients place parts from the start of their segment), and the newest segment
    always keeps them.
    """
    from_end = 0.0
    first = len(segments) - 1
    for index in range(len(segments) - 1, -1, -1):
        from_end += segments[index].duration
        if from_end > horizon + _EPSILON and index < len(segments) - 1:
            break
        first = index
    return first


def _skippable_count(segments: Sequence[Segment], boundary: float) -> int:
    """How many leading segments end at least `boundary` before the end of the playlist."""
    after = [0.0] * len(segments)  # after[i]: duration of everything after segment i
    for index in range(len(segments) - 2, -1, -1):
        after[index] = after[index + 1] + segments[index + 1].duration
    count = 0
    while count < len(segments) - 1 and segments[count].complete and after[count] >= boundary - _EPSILON:
        count += 1
    return count
