"""The recorder's file writer on fragments of a real stream (ffmpeg-encoded, muxed by our writer): parsing, trimming
and re-timing fragments, where a recording starts and ends, checked with ffprobe."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import pytest

from custom_components.stream.outputs.recorder.file import RecordingFile
from custom_components.stream.remux.fmp4.boxes import find_child
from custom_components.stream.remux.fragments import (
    parse_fragment,
    shift_decode_times,
    start_offsets,
    track_timescales,
    trim_fragment,
)

from .test_fmp4_support import FPS, Muxed, decode_errors, demux, encode, ffprobe, mux

FRAME = 90000 // FPS  # MPEG-TS timestamps: 90 kHz
FRAMES = 45  # 3 s; a keyframe every 5 frames, a fragment every 3 (so most keyframes fall inside a fragment)
_X264 = ("-c:v", "libx264", "-g", "5", "-keyint_min", "5", "-sc_threshold", "0", "-bf", "0", "-threads", "1")


@dataclass
class Clip:
    muxed: Muxed
    keyframes: list[int]  # video frame numbers
    directory: Path

    @property
    def first_dts(self) -> int:
        return self.muxed.video[0].dts


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    directory = tmp_path_factory.mktemp("clip")
    muxed = mux(demux(encode(directory / "in.ts", [*_X264], ["-c:a", "aac"], frames=FRAMES)), cut="every_3")
    keyframes = [index for index, sample in enumerate(muxed.video) if sample.keyframe]
    assert keyframes == list(range(0, FRAMES, 5))
    return Clip(muxed, keyframes, directory)


def video_packets(path: Path) -> list[dict[str, str]]:
    packets: list[dict[str, str]] = ffprobe(
        path, "-select_streams", "v:0", "-show_entries", "packet=dts,pts,flags", "-show_packets"
    )["packets"]
    return packets


def random_access_index(data: bytes) -> list[tuple[int, int]]:
    """(time, moof offset) of each tfra entry in the mfra that ends `data`, checking the mfro points back to it."""
    (mfra_size,) = struct.unpack(">I", data[-4:])
    mfra = data[-mfra_size:]
    assert mfra[4:8] == b"mfra"
    tfra = find_child(mfra, (0, len(mfra)), b"tfra")
    assert tfra is not None
    track_id, sizes, count = struct.unpack_from(">III", mfra, tfra[0] + 12)
    assert (track_id, sizes) == (1, 0)
    entries = [struct.unpack_from(">QQBBB", mfra, tfra[0] + 24 + 19 * n) for n in range(count)]
    return [(time, offset) for time, offset, _, _, _ in entries]


def test_parse_reads_back_what_the_writer_wrote(clip: Clip) -> None:
    muxed = clip.muxed
    audio = []
    for data, group in zip(muxed.fragments, muxed.video_groups, strict=True):
        fragment = parse_fragment(data)
        assert fragment.video == group
        audio += fragment.audio
        assert fragment.to_bytes() == data
    assert audio == muxed.audio


def test_shift_moves_every_track_by_the_same_time(clip: Clip) -> None:
    timescales = track_timescales(clip.muxed.init)
    first = clip.muxed.fragments[0]
    offsets = start_offsets(first, timescales)
    shifted = parse_fragment(shift_decode_times(first, offsets))
    original = parse_fragment(first)

    assert min(shifted.video[0].dts / timescales[1], shifted.audio[0].dts / timescales[2]) < 0.001
    assert shifted.video[0].dts == original.video[0].dts - offsets[1]
    assert shifted.audio[0].dts == original.audio[0].dts - offsets[2]
    assert abs(offsets[1] / timescales[1] - offsets[2] / timescales[2]) < 0.001


def test_trim_keeps_the_samples_from_a_keyframe_and_the_audio_after_it(clip: Clip) -> None:
    timescales = track_timescales(clip.muxed.init)
    fragment = parse_fragment(clip.muxed.fragments[1])  # frames 3, 4, 5: the keyframe is the last one
    keyframe = fragment.video[2]
    assert keyframe.keyframe

    trimmed = trim_fragment(fragment, timescales, start=keyframe.dts)

    assert trimmed is not None
    assert trimmed.video == [keyframe]
    start_seconds = keyframe.dts / timescales[1]
    assert [s for s in fragment.audio if s.dts / timescales[2] >= start_seconds] == trimmed.audio
    assert trim_fragment(fragment, timescales, end=fragment.video[0].dts) is None
    assert trim_fragment(fragment, timescales, start=fragment.video[0].dts) is fragment  # nothing to cut


def record(clip: Clip, path: Path, *, buffered: int, lookback: float, duration: float) -> RecordingFile:
    """Record with the first `buffered` fragments already in the buffer and the rest arriving one by one."""
    file = RecordingFile(str(path), orientation=1, duration=duration)
    fragments = clip.muxed.fragments
    file.start(clip.muxed.init, fragments[:buffered], lookback)
    for fragment in fragments[buffered:]:
        if file.write(clip.muxed.init, [fragment]):
            break
    file.finish()
    return file


def test_recording_starts_on_the_keyframe_before_the_lookback_and_ends_at_the_duration(
    clip: Clip, tmp_path: Path
) -> None:
    path = tmp_path / "clip.mp4"
    # 9 fragments (27 frames, 1.8 s) buffered; 1 s back is frame 12, whose keyframe is frame 10 (mid-fragment).
    file = record(clip, path, buffered=9, lookback=1.0, duration=0.5)

    # From frame 10 to the last frame starting before 1.8 + 0.5 s, frame 34.
    packets = video_packets(path)
    assert len(packets) == 34 - 10 + 1
    assert packets[0]["flags"].startswith("K")
    assert int(packets[0]["dts"]) == 0
    assert [int(p["dts"]) for p in packets] == [n * FRAME for n in range(len(packets))]
    assert file.complete
    assert file.seconds == pytest.approx(25 / FPS)
    # The index lists every keyframe (frames 10, 15 ... 30) at its moof.
    data = path.read_bytes()
    index = random_access_index(data)
    assert [time for time, _ in index] == [int(p["pts"]) for p in packets if p["flags"].startswith("K")]
    assert [time // FRAME for time, _ in index] == [0, 5, 10, 15, 20]
    assert all(data[offset + 4 : offset + 8] == b"moof" for _, offset in index)
    assert decode_errors(path) == ""
    assert not list(tmp_path.glob(".*.tmp"))


def test_lookback_beyond_the_buffer_starts_at_the_oldest_keyframe(clip: Clip, tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    # The buffer starts mid-GOP (frame 6): the oldest keyframe in it is frame 10.
    muxed = clip.muxed
    file = RecordingFile(str(path), orientation=1, duration=0.3)
    file.start(muxed.init, muxed.fragments[2:9], lookback=60)
    assert not file.write(muxed.init, muxed.fragments[9:10])
    assert file.write(muxed.init, muxed.fragments[10:12])
    file.finish()

    packets = video_packets(path)
    assert packets[0]["flags"].startswith("K")
    assert len(packets) == 31 - 10 + 1  # frames 10..31: 1.8 s + 0.3 s falls within frame 31
    assert decode_errors(path) == ""


def test_without_buffered_keyframe_the_file_starts_at_the_first_live_one(clip: Clip, tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    muxed = clip.muxed
    file = RecordingFile(str(path), orientation=1, duration=1.0)
    file.start(muxed.init, muxed.fragments[2:3], lookback=0)  # frames 6-8: no keyframe
    assert not file.fragments_written
    file.write(muxed.init, muxed.fragments[3:])
    file.finish()

    packets = video_packets(path)
    assert packets[0]["flags"].startswith("K")
    # Frame 10 onwards; the duration counts from the buffered end (frame 9): frames up to 23 start before 9 + 15.
    assert len(packets) == 23 - 10 + 1
    assert decode_errors(path) == ""


def test_discard_leaves_nothing(clip: Clip, tmp_path: Path) -> None:
    file = RecordingFile(str(tmp_path / "clip.mp4"), orientation=1, duration=1.0)
    file.write(clip.muxed.init, clip.muxed.fragments[:2])

    file.discard()

    assert list(tmp_path.iterdir()) == []


def lagging_audio_fragments(muxed: Muxed, lag: float) -> list[bytes]:
    """The clip's fragments with each audio frame in the fragment `lag` seconds after its time, as transcoded audio
    reaches the stream (the encoder holds a frame or two)."""
    timescale = 90000
    fragments = []
    audio = list(muxed.audio)
    for number, group in enumerate(muxed.video_groups):
        end = group[-1].dts + group[-1].duration
        late = [sample for sample in audio if sample.dts + lag * timescale < end]
        audio = audio[len(late) :]
        fragments.append(muxed.writer.fragment(number + 1, group, late))
    return fragments


def audio_span(path: Path) -> tuple[float, float]:
    packets = ffprobe(path, "-select_streams", "a:0", "-show_entries", "packet=pts_time,duration_time", "-show_packets")
    times = [(float(p["pts_time"]), float(p["duration_time"])) for p in packets["packets"]]
    starts = [start for start, _ in times]
    assert starts == sorted(set(starts))
    return starts[0], times[-1][0] + times[-1][1]


def test_late_audio_still_spans_the_recordings_video(clip: Clip, tmp_path: Path) -> None:
    """Audio 0.3 s behind the video in the fragments: the audio before the first keyframe is left out of every
    fragment (not only the first), and the fragments after the video's end bring the audio of its last moments."""
    path = tmp_path / "clip.mp4"
    muxed = clip.muxed
    fragments = lagging_audio_fragments(muxed, 0.3)
    # The clip has a second of audio: from frame 5 (buffered 0.6 s, 0.2 s back is frame 6) to 0.6 + 0.3 s.
    file = RecordingFile(str(path), orientation=1, duration=0.3)
    file.start(muxed.init, fragments[:3], lookback=0.2)
    written = 3
    while not file.write(muxed.init, fragments[written : written + 1]):
        written += 1
    file.finish()

    video = video_packets(path)
    video_end = (int(video[-1]["dts"]) + FRAME) / 90000
    audio_start, audio_end = audio_span(path)
    frame = 1024 / 48000
    assert 0 <= audio_start < frame
    assert video_end - frame < audio_end < video_end + frame
    assert int(video[0]["dts"]) == 0
    assert len(video) == 13 - 5 + 1  # frames 5..13 (0.9 s falls within frame 13)
    assert written > 4  # it took fragments past the one where the video ended (frames 12-14)
    assert decode_errors(path) == ""
