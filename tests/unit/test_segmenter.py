"""Part and segment cutting: durations from timestamps, part target rules, keyframe-aligned segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.stream.remux.media import Part, Sample, SegmentHeader
from custom_components.stream.remux.segmenter import Segmenter, StreamTimeline

VIDEO_TS = 90000
FRAME = 3000  # 30 fps
AUDIO_TS = 48000


class RecordingWriter:
    """Keeps the samples of every fragment so tests can check what went where."""

    codecs = "avc1.640028"

    def __init__(self) -> None:
        self.fragments: list[tuple[int, list[Sample], list[Sample]]] = []

    def init_segment(self, orientation: int = 1) -> bytes:
        return b"init"

    def fragment(self, sequence_number: int, video: list[Sample], audio: list[Sample]) -> bytes:
        self.fragments.append((sequence_number, list(video), list(audio)))
        return f"frag{sequence_number}".encode()


Emitted = list[tuple[SegmentHeader, Part, bool]]


def make_segmenter(
    part_target: float = 0.5,
    min_segment: float = 1.9,
    timeline: StreamTimeline | None = None,
    first_segment: float | None = None,
) -> tuple[Segmenter, RecordingWriter, Emitted]:
    writer = RecordingWriter()
    emitted: Emitted = []
    start = datetime(2026, 1, 1, tzinfo=UTC)
    segmenter = Segmenter(
        writer,
        timeline or StreamTimeline(),
        video_timescale=VIDEO_TS,
        audio_timescale=AUDIO_TS,
        part_target=part_target,
        min_segment_duration=min_segment,
        sink=lambda header, part, last: emitted.append((header, part, last)),
        first_segment_duration=first_segment,
        clock=lambda: start,
    )
    return segmenter, writer, emitted


def feed_video(segmenter: Segmenter, frames: int, *, gop: int = 30, start_dts: int = 1_000_000) -> None:
    for i in range(frames):
        dts = start_dts + i * FRAME
        segmenter.add_video(dts, dts, i % gop == 0, b"v")


def test_nothing_before_first_keyframe() -> None:
    segmenter, _, emitted = make_segmenter()
    segmenter.add_video(0, 0, False, b"v")
    segmenter.add_audio(0, b"a")
    segmenter.flush()
    assert emitted == []
    assert not segmenter.started


def test_parts_never_exceed_target_and_are_at_least_85_percent() -> None:
    segmenter, _, emitted = make_segmenter(part_target=0.5)
    feed_video(segmenter, 30 * 6 + 1)  # six 1 s GOPs and the next keyframe

    for _, part, last in emitted:
        assert part.duration <= 0.5 + 1e-9
        if not last:
            assert part.duration >= 0.85 * 0.5
    assert [part.duration for _, part, _ in emitted[:4]] == pytest.approx([0.5, 0.5, 0.5, 0.5])


def test_segments_start_on_keyframes_after_min_duration() -> None:
    segmenter, writer, emitted = make_segmenter(part_target=0.5, min_segment=1.9)
    feed_video(segmenter, 30 * 4 + 1)  # keyframes every second: segments of 2 s

    last_flags = [(header.sequence, last) for header, _, last in emitted]
    # Numbered from 1 (see StreamTimeline): hls.js 1.6 makes no blocking reloads while segment 0 is the newest.
    assert last_flags == [(1, False), (1, False), (1, False), (1, True), (2, False), (2, False), (2, False), (2, True)]
    first_samples = [video[0] for _, video, _ in writer.fragments]
    assert [sample.keyframe for sample in first_samples[::4]] == [True, True]
    segment_durations: dict[int, float] = {}
    for header, part, _ in emitted:
        segment_durations[header.sequence] = segment_durations.get(header.sequence, 0) + part.duration
    assert segment_durations == pytest.approx({1: 2.0, 2: 2.0})


def test_part_duration_matches_sample_timestamps() -> None:
    segmenter, writer, emitted = make_segmenter(part_target=0.4)
    # Irregular frame spacing (a real camera's jitter): durations still add up exactly.
    dts = 0
    for i, gap in enumerate([3000, 2900, 3100, 3000, 4000, 2000, 3000] * 10):
        segmenter.add_video(dts, dts, i == 0, b"v")
        dts += gap
    for (_, video, _), (_, part, _) in zip(writer.fragments, emitted, strict=True):
        assert part.duration == pytest.approx(sum(sample.duration for sample in video) / VIDEO_TS)
        assert all(video[i].dts + video[i].duration == video[i + 1].dts for i in range(len(video) - 1))
        assert part.duration <= 0.4


def test_independent_flag_follows_keyframes() -> None:
    segmenter, _, emitted = make_segmenter(part_target=0.5, min_segment=5.9)
    feed_video(segmenter, 61, gop=30)
    assert [part.independent for _, part, _ in emitted] == [True, False, True, False]


def test_audio_goes_with_the_open_part_and_before_video_is_dropped() -> None:
    segmenter, writer, _ = make_segmenter(part_target=0.5)
    segmenter.add_audio(0, b"early")
    for i in range(31):
        dts = i * FRAME
        segmenter.add_video(dts, dts, i % 30 == 0, b"v")
        segmenter.add_audio(i * 1600, b"a")  # 48 kHz audio every 1/30 s
    audio = [sample for _, _, frag_audio in writer.fragments for sample in frag_audio]
    assert all(sample.data == b"a" for sample in audio)
    assert [s.dts for s in audio] == sorted(s.dts for s in audio)
    assert all(sample.duration == 1600 for sample in audio)


def test_timeline_continues_across_runs_with_new_discontinuity() -> None:
    timeline = StreamTimeline()
    first, first_writer, first_emitted = make_segmenter(timeline=timeline)
    feed_video(first, 45, start_dts=5_000_000)
    first.flush()
    second, second_writer, second_emitted = make_segmenter(timeline=timeline)
    feed_video(second, 10, start_dts=123)  # the camera restarted its clock

    last_end = first_writer.fragments[-1][1][-1]
    second.flush()
    first_sample = second_writer.fragments[0][1][0]
    assert first_sample.dts == last_end.dts + last_end.duration
    assert first_emitted[0][0].discontinuity == 0
    assert second_emitted[0][0].discontinuity == 1
    assert second_emitted[0][0].sequence == first_emitted[-1][0].sequence + 1


def test_program_date_time_follows_media_time() -> None:
    segmenter, _, emitted = make_segmenter(part_target=0.5, min_segment=1.9)
    feed_video(segmenter, 30 * 4 + 1)
    headers = {header.sequence: header for header, _, _ in emitted}
    assert headers[2].program_date_time - headers[1].program_date_time == timedelta(seconds=2)


def test_flush_closes_the_open_part_as_last_of_segment() -> None:
    segmenter, _, emitted = make_segmenter(part_target=0.5)
    feed_video(segmenter, 20)
    segmenter.flush()
    assert emitted[-1][2] is True
    assert sum(part.duration for _, part, _ in emitted) == pytest.approx(20 / 30)


def test_first_segment_of_each_run_ends_at_first_keyframe_past_its_duration() -> None:
    timeline = StreamTimeline()
    for _ in range(2):  # a worker restart gets a fast start too
        segmenter, _, emitted = make_segmenter(part_target=0.5, min_segment=5.9, timeline=timeline, first_segment=0.7)
        feed_video(segmenter, 30 * 3 + 1, gop=30)
        segmenter.flush()
        durations: dict[int, float] = {}
        for header, part, _ in emitted:
            durations[header.sequence] = durations.get(header.sequence, 0) + part.duration
        first = emitted[0][0].sequence
        assert durations[first] == pytest.approx(1.0)  # keyframes every second: the first one past 0.7 s
        assert durations[first + 1] == pytest.approx(2.0 + 1 / 30)  # then min_segment rules (flushed early here)
        second = [part for header, part, _ in emitted if header.sequence == first + 1]
        assert second[0].independent


@pytest.mark.parametrize("fps", [25, 30])
def test_a_segment_never_ends_in_a_part_hls_js_would_skip(fps: int) -> None:
    """hls.js never loads a segment's last part under its 0.25 s lookup tolerance: 0.34 s parts must not leave such
    a tail at 25 fps (6 s is no whole number of 8-frame parts), and 30 fps keeps its even 10-frame parts."""
    frame = VIDEO_TS // fps
    segmenter, _, emitted = make_segmenter(part_target=0.34, min_segment=5.9)
    for i in range(fps * 20 + 1):
        dts = 1_000_000 + i * frame
        segmenter.add_video(dts, dts, i % fps == 0, b"v")
    last_parts = [part.duration for _, part, last in emitted if last]
    assert len(last_parts) >= 2
    assert min(last_parts) >= 0.25
    assert max(part.duration for _, part, _ in emitted) <= 0.34
