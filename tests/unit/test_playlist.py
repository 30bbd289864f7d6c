"""Playlist text: the media playlist (fast start, parts, discontinuities, plain HLS, delta updates), the master
playlist and the shared render cache. Parsed with the `m3u8` library, and exact lines where they matter."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import m3u8
import pytest

from custom_components.stream.outputs.hls.cache import BufferRenders
from custom_components.stream.outputs.hls.master import FALLBACK_BANDWIDTH, estimate_bandwidth, render_master_playlist
from custom_components.stream.outputs.hls.playlist import (
    format_program_date_time,
    media_duration,
    playlist_window,
    preload_hint,
    render_media_playlist,
    target_duration,
)
from custom_components.stream.remux.media import MediaBuffer, Part, Segment, SegmentHeader
from custom_components.stream.settings import StreamSettings, non_ll_hls_settings

LL = StreamSettings(
    ll_hls=True, min_segment_duration=5.9, part_target_duration=0.5, hls_advance_part_limit=6, hls_part_timeout=1.0
)
START = datetime(2026, 10, 4, 12, 0, 0, 250000, tzinfo=UTC)


def segment(
    sequence: int,
    durations: Sequence[float],
    *,
    complete: bool = True,
    discontinuity: int = 0,
    part_size: int = 1000,
) -> Segment:
    """A segment whose first part holds the keyframe, starting `sequence` * 6 s after START."""
    header = SegmentHeader(
        sequence=sequence,
        discontinuity=discontinuity,
        init=b"init-%d" % discontinuity,
        codecs="avc1.64001f,mp4a.40.2",
        program_date_time=START + timedelta(seconds=6 * sequence),
        width=1280,
        height=720,
    )
    parts = [Part(d, i == 0, bytes([sequence % 256]) * part_size) for i, d in enumerate(durations)]
    return Segment(header, parts, complete)


def full(sequence: int, discontinuity: int = 0) -> Segment:
    """A complete 6 s segment of twelve half-second parts."""
    return segment(sequence, [0.5] * 12, discontinuity=discontinuity)


def lines(text: str) -> list[str]:
    assert text.endswith("\n")
    return text.splitlines()


def test_fast_start_single_part() -> None:
    """One incomplete segment with one part is a complete, valid LL-HLS playlist."""
    text = render_media_playlist([segment(0, [0.5], complete=False)], LL)
    assert lines(text) == [
        "#EXTM3U",
        "#EXT-X-VERSION:10",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXT-X-TARGETDURATION:6",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-DISCONTINUITY-SEQUENCE:0",
        "#EXT-X-PART-INF:PART-TARGET=0.500",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=36.000,PART-HOLD-BACK=1.000",
        '#EXT-X-MAP:URI="init.mp4?d=0"',
        "#EXT-X-PROGRAM-DATE-TIME:2026-10-04T12:00:00.250Z",
        '#EXT-X-PART:DURATION=0.49999,URI="./segment/0.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="./segment/0.1.m4s"',
    ]
    playlist = m3u8.loads(text)
    assert playlist.target_duration == 6
    assert playlist.preload_hint.uri == "./segment/0.1.m4s"
    assert playlist.server_control.can_block_reload == "YES"
    assert [part.uri for segment in playlist.segments for part in segment.parts] == ["./segment/0.0.m4s"]


def test_segments_with_parts() -> None:
    held = [full(0), full(1), full(2), full(3), segment(4, [0.5, 0.5, 0.4], complete=False)]
    window = playlist_window(held)
    assert [s.sequence for s in window] == [1, 2, 3, 4]  # three complete ones plus the one being written
    text = render_media_playlist(window, LL)
    playlist = m3u8.loads(text)

    assert playlist.version == 10
    assert playlist.media_sequence == 1
    assert playlist.is_independent_segments
    assert playlist.part_inf.part_target == 0.5
    assert playlist.server_control.part_hold_back == 1.0  # 2 x part target
    assert playlist.server_control.can_skip_until == 36
    complete = [s for s in playlist.segments if s.uri]
    assert [s.uri for s in complete] == ["./segment/1.m4s", "./segment/2.m4s", "./segment/3.m4s"]
    assert [s.program_date_time for s in complete] == [START + timedelta(seconds=6 * n) for n in (1, 2, 3)]
    # Parts stay for segments starting within 3 target durations (18 s) of the end: 2, 3 and the open 4.
    assert [len(s.parts) for s in playlist.segments] == [0, 12, 12, 3]
    for listed in playlist.segments[1:3]:
        assert sum(part.duration for part in listed.parts) == pytest.approx(listed.duration, abs=0.0006)
        assert listed.parts[0].independent == "YES"
        assert all(part.independent is None for part in listed.parts[1:])
    assert playlist.preload_hint.uri == "./segment/4.3.m4s"
    assert "#EXTINF:5.99999," in lines(text)
    assert '#EXT-X-PART:DURATION=0.39999,URI="./segment/4.2.m4s"' in lines(text)
    assert lines(text).count('#EXT-X-MAP:URI="init.mp4?d=0"') == 1
    assert "#EXT-X-START" not in text  # LL clients go by PART-HOLD-BACK


def test_rendered_part_durations_sum_to_extinf() -> None:
    durations = [0.5, 0.4995, 0.48, 0.5, 0.333, 0.25]
    text = render_media_playlist([segment(7, durations)], LL)
    playlist = m3u8.loads(text)
    (listed,) = playlist.segments
    assert "#EXTINF:2.56249," in lines(text)
    # Each duration is rounded down to 10 µs: the parts' sum is short of EXTINF by at most that per part.
    assert listed.duration - 6 * 0.00001 <= sum(part.duration for part in listed.parts) <= listed.duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (6.0, "5.99999"),
        (1 / 3, "0.33332"),
        (0.999_999, "0.99999"),
        (89_991 / 90_000, "0.99989"),
        (0.000_004, "0.00000"),
    ],
)
def test_durations_stay_a_few_microseconds_under_the_media(seconds: float, text: str) -> None:
    """Browsers floor buffered times to the microsecond: a listed end must not pass that (see media_duration)."""
    assert media_duration(seconds) == text
    assert float(text) <= max(seconds - 0.000_002, 0)


def test_preload_hint_after_a_complete_segment() -> None:
    text = render_media_playlist([full(3), full(4)], LL)
    assert lines(text)[-1] == '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="./segment/5.0.m4s"'
    assert preload_hint([full(3), full(4)]) == (5, 0)
    assert preload_hint([full(3), segment(4, [0.5, 0.5], complete=False)]) == (4, 2)
    assert preload_hint([]) is None


def test_discontinuity_repeats_the_map() -> None:
    held = [full(5, discontinuity=2), full(6, discontinuity=3), segment(7, [0.5], complete=False, discontinuity=3)]
    text = render_media_playlist(held, LL)
    rendered = lines(text)
    assert "#EXT-X-DISCONTINUITY-SEQUENCE:2" in rendered
    boundary = rendered.index("#EXT-X-DISCONTINUITY")
    assert rendered[boundary + 1] == '#EXT-X-MAP:URI="init.mp4?d=3"'
    assert rendered.index("./segment/5.m4s") < boundary < rendered.index("#EXTINF:5.99999,", boundary)
    playlist = m3u8.loads(text)
    assert playlist.discontinuity_sequence == 2
    assert [s.discontinuity for s in playlist.segments if s.uri] == [False, True]
    assert [s.init_section.uri for s in playlist.segments if s.uri] == ["init.mp4?d=2", "init.mp4?d=3"]


def test_plain_hls() -> None:
    settings = non_ll_hls_settings()
    held = [segment(n, [2.0]) for n in range(4)] + [segment(4, [1.0], complete=False)]
    text = render_media_playlist(playlist_window(held), settings)
    rendered = lines(text)
    assert rendered[:7] == [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:1",
        "#EXT-X-DISCONTINUITY-SEQUENCE:0",
        "#EXT-X-START:TIME-OFFSET=-3.000,PRECISE=YES",
    ]
    for absent in ("#EXT-X-PART", "PRELOAD-HINT", "SERVER-CONTROL", "segment/4"):
        assert absent not in text
    playlist = m3u8.loads(text)
    assert [s.uri for s in playlist.segments] == ["./segment/1.m4s", "./segment/2.m4s", "./segment/3.m4s"]
    assert playlist.start.time_offset == -3.0


def test_delta_update_skips_old_segments() -> None:
    """With a window longer than CAN-SKIP-UNTIL (6 * 6 s), the segments ending 36 s or more before the end go."""
    held = [full(n) for n in range(10)] + [segment(10, [0.5], complete=False)]
    text = render_media_playlist(held, LL, skip=True)
    rendered = lines(text)
    # After segment n come (9 - n) * 6 s + 0.5 s: n <= 3 qualify.
    assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=4" in rendered
    assert "#EXT-X-MEDIA-SEQUENCE:0" in rendered  # the header still counts the skipped ones
    assert rendered.index("#EXT-X-SKIP:SKIPPED-SEGMENTS=4") < rendered.index('#EXT-X-MAP:URI="init.mp4?d=0"')
    assert "./segment/3.m4s" not in rendered
    playlist = m3u8.loads(text)
    assert playlist.skip.skipped_segments == 4
    assert playlist.segments[0].uri == "./segment/4.m4s"

    full_rendered = lines(render_media_playlist(held, LL))
    assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=4" not in full_rendered
    # From segment 4 on, the delta update and the full playlist are the same.
    tail_start = "#EXT-X-PROGRAM-DATE-TIME:2026-10-04T12:00:24.250Z"
    assert rendered[rendered.index(tail_start) :] == full_rendered[full_rendered.index(tail_start) :]


def test_delta_update_with_nothing_to_skip_is_the_full_playlist() -> None:
    held = playlist_window([full(n) for n in range(5)])
    assert render_media_playlist(held, LL, skip=True) == render_media_playlist(held, LL)


def test_skip_is_ignored_in_plain_hls() -> None:
    held = [segment(n, [2.0]) for n in range(30)]
    text = render_media_playlist(held, non_ll_hls_settings(), skip=True)
    assert "#EXT-X-SKIP" not in text


def test_skip_keeps_the_discontinuity_of_the_first_listed_segment() -> None:
    held = [full(n, discontinuity=0 if n < 5 else 1) for n in range(11)]
    rendered = lines(render_media_playlist(held, LL, skip=True))
    skip_at = rendered.index("#EXT-X-SKIP:SKIPPED-SEGMENTS=5")  # (10 - n) * 6 s >= 36 s for n <= 4
    assert rendered[skip_at + 1 : skip_at + 3] == ["#EXT-X-DISCONTINUITY", '#EXT-X-MAP:URI="init.mp4?d=1"']


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        ([], 6),  # the configured target when nothing is held
        ([6.006], 6),  # rounded to nearest it still fits: a ceil would say 7
        ([6.5], 7),
        ([2.0], 6),  # never below the configured segment length
        ([9.4, 3.0], 9),
    ],
)
def test_target_duration(durations: list[float], expected: int) -> None:
    held = [segment(n, [d]) for n, d in enumerate(durations)]
    assert target_duration(held, LL) == expected
    if held:
        assert f"#EXT-X-TARGETDURATION:{expected}" in render_media_playlist(held, LL)


def test_target_duration_never_shrinks_in_the_cache() -> None:
    renders = BufferRenders()
    assert renders.target_duration([segment(0, [8.2])], LL) == 8
    assert renders.target_duration([segment(1, [6.0])], LL) == 8


def test_program_date_time_format() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 6789, tzinfo=UTC)
    assert format_program_date_time(moment) == "2026-01-02T03:04:05.006Z"
    assert format_program_date_time(moment.replace(tzinfo=None)) == "2026-01-02T03:04:05.006Z"
    assert format_program_date_time(moment.astimezone(timezone(timedelta(hours=2)))) == "2026-01-02T03:04:05.006Z"


def test_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one segment"):
        render_media_playlist([], LL)


def test_cache_renders_once_per_buffer_change() -> None:
    buffer = MediaBuffer(5)
    first = segment(0, [0.5], complete=False)
    buffer.add_part(first.header, first.parts[0], last_in_segment=False)
    renders = BufferRenders()
    rendered = renders.media_playlist(buffer.segments, LL, skip=False)
    assert renders.media_playlist(buffer.segments, LL, skip=False) is rendered
    assert renders.media_playlist(buffer.segments, LL, skip=True) is not rendered

    buffer.add_part(first.header, Part(0.5, False, b"next"), last_in_segment=False)
    updated = renders.media_playlist(buffer.segments, LL, skip=False)
    assert updated is not rendered
    assert b'URI="./segment/0.2.m4s"' in updated.body
    assert gzip.decompress(updated.gzipped) == updated.body


# -- master playlist -------------------------------------------------------------------------------------------


def test_master_playlist_at_first_part() -> None:
    held = [segment(0, [0.5], complete=False, part_size=50_000)]
    text = render_master_playlist(held, LL)
    assert lines(text) == [
        "#EXTM3U",
        "#EXT-X-VERSION:10",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-STREAM-INF:BANDWIDTH=960000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720',
        "playlist.m3u8",
    ]
    playlist = m3u8.loads(text)
    assert playlist.is_variant
    (variant,) = playlist.playlists
    assert variant.stream_info.bandwidth == 960_000  # 50 kB in 0.5 s = 800 kbit/s, plus 20 %
    assert variant.stream_info.resolution == (1280, 720)
    assert variant.uri == "playlist.m3u8"


def test_master_playlist_with_complete_segments() -> None:
    held = [
        segment(0, [0.5] * 12, part_size=10_000),  # 120 kB in 6 s: 160 kbit/s
        segment(1, [0.5] * 12, part_size=20_000),  # 320 kbit/s
        segment(2, [0.5], complete=False, part_size=1_000_000),  # the open one is not measured
    ]
    text = render_master_playlist(held, non_ll_hls_settings(), orientation=6)
    assert (
        '#EXT-X-STREAM-INF:BANDWIDTH=384000,AVERAGE-BANDWIDTH=288000,CODECS="avc1.64001f,mp4a.40.2",'
        "RESOLUTION=720x1280" in lines(text)  # rotated a quarter turn for display
    )
    assert "#EXT-X-VERSION:6" in lines(text)


def test_bandwidth_is_never_zero() -> None:
    assert estimate_bandwidth([segment(0, [0.0], complete=False)]).peak == FALLBACK_BANDWIDTH
    assert estimate_bandwidth([segment(0, [0.5], complete=False, part_size=0)]).peak == FALLBACK_BANDWIDTH
    assert estimate_bandwidth([segment(0, [10.0], complete=False, part_size=1)]).peak >= 1


def test_master_playlist_without_known_resolution() -> None:
    held = [segment(0, [0.5], complete=False)]
    held[0] = Segment(SegmentHeader(0, 0, b"i", "hvc1.1.6.L93.B0", START), held[0].parts)
    text = render_master_playlist(held, LL)
    assert "RESOLUTION" not in text
    assert 'CODECS="hvc1.1.6.L93.B0"' in text
