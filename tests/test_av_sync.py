"""The A/V offset measurement (tests/av_sync.py): its detectors on made-up samples and frames, and whole files with
known offsets made by the ffmpeg CLI (the marker drawn by lavfi, as tests/simulator/marker.py draws it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.av_sync import QUIET_SECONDS, find_markers, find_onsets, measure, pair_up
from tests.simulator.marker import OFF_LUMA, ON_LUMA, draw_marker, lavfi_audio, lavfi_video, tone
from tests.simulator.process import PROJECT_DIR

RATE = 8000
FILE_SECONDS = 5
# Sine bursts start at phase zero, so the first sample above the threshold is the onset's next one; lossy codecs
# smear the onset by a little more (Opus measured 0.56 ms late, AAC 0.06 ms).
FILE_TOLERANCE_MS = 1.5


def chunks_of(samples: np.ndarray, start_s: float, size: int) -> list[tuple[float, int, np.ndarray]]:
    floats = samples.astype(np.float32) / 32768
    return [(start_s + index / RATE, RATE, floats[index : index + size]) for index in range(0, floats.size, size)]


def test_onsets_are_found_to_the_sample() -> None:
    onsets = [4000 + 1234, 12000 + 1234, 20000 + 7]
    samples = sum((tone(RATE, 0, 28000, onset) for onset in onsets), np.zeros(28000, dtype=np.int16))
    found = find_onsets(chunks_of(samples, start_s=10.0, size=160))
    # The sine's first sample is zero: the next one is the first above the threshold.
    assert found == pytest.approx([10.0 + (onset + 1) / RATE for onset in onsets], abs=1e-9)


def test_a_burst_cut_by_the_start_or_a_gap_is_no_onset() -> None:
    samples = tone(RATE, 0, 16000, -200) + tone(RATE, 0, 16000, 9000)  # a burst under way at the start, then one
    chunks = chunks_of(samples, start_s=0.0, size=400)
    assert find_onsets(chunks) == pytest.approx([9001 / RATE])
    # Audio missing from 0.5 s to 1.1 s: what follows the gap mid-burst is not an onset either.
    resumed = tone(RATE, 0, 8000, -100)
    assert find_onsets([*chunks[:10], *chunks_of(resumed, start_s=1.1, size=400)]) == []


def test_silence_has_no_onsets() -> None:
    assert find_onsets(chunks_of(np.zeros(16000, dtype=np.int16), 0.0, 320)) == []


def luma_frame(on: bool) -> np.ndarray:
    luma = np.full((360, 640), 100, dtype=np.uint8)
    draw_marker(luma, on)
    return luma


def test_markers_are_the_frames_whose_strip_turns_white_in_presentation_order() -> None:
    times = [round(index / 30, 6) for index in range(90)]
    white = {0, 30, 31, 60}  # a marker held for two frames counts once
    frames = [(time, luma_frame(index in white)) for index, time in enumerate(times)]
    frames.reverse()  # decode order may differ from presentation order
    assert find_markers(frames) == [times[0], times[30], times[60]]
    noisy = np.clip(luma_frame(False).astype(np.int16) + 60, 0, 255).astype(np.uint8)
    assert find_markers([(0.0, noisy)]) == [], f"{OFF_LUMA} + 60 is no marker"
    assert find_markers([(0.0, np.full((360, 640), ON_LUMA, dtype=np.uint8))]) == [0.0]


def test_pairs_take_the_nearest_marker_within_reach() -> None:
    pairs = pair_up([1.0, 2.0, 3.0], [1.03, 1.98, 3.6, 9.0])
    assert [(pair.video_s, pair.audio_s) for pair in pairs] == [(1.0, 1.03), (2.0, 1.98)]
    assert [pair.offset_ms for pair in pairs] == pytest.approx([30.0, -20.0])


def make_file(path: Path, codec: str, rate: int, offset_s: float) -> Path:
    command = [
        *("ffmpeg", "-v", "error", "-nostdin", "-y"),
        *("-f", "lavfi", "-i", lavfi_video(160, 120, 15)),
        *("-f", "lavfi", "-i", lavfi_audio(rate, offset_s)),
        *("-t", str(FILE_SECONDS), "-c:v", "libx264", "-preset", "ultrafast", "-g", "15"),
        *("-c:a", codec, "-ac", "1", str(path)),
    ]
    subprocess.run(command, check=True, timeout=60)
    return path


@pytest.mark.parametrize(
    ("suffix", "codec", "rate"),
    [("mkv", "pcm_mulaw", 8000), ("mkv", "pcm_alaw", 8000), ("mp4", "aac", 48000), ("mkv", "libopus", 48000)],
)
@pytest.mark.parametrize("offset_ms", [0, 25, -30, 200])
def test_files_measure_their_known_offset(tmp_path: Path, suffix: str, codec: str, rate: int, offset_ms: int) -> None:
    path = make_file(tmp_path / f"sync.{suffix}", codec, rate, offset_ms / 1000)
    measured = measure(path)
    assert len(measured.markers) == FILE_SECONDS
    # Every whole second but those whose burst the file's start or end cut, or that lie within QUIET_SECONDS of it.
    assert len(measured.pairs) >= FILE_SECONDS - 1 - round(QUIET_SECONDS)
    assert measured.offsets_ms == pytest.approx([offset_ms] * len(measured.pairs), abs=FILE_TOLERANCE_MS)


def test_command_line_prints_the_offsets(tmp_path: Path) -> None:
    path = make_file(tmp_path / "sync.mkv", "pcm_mulaw", 8000, 0.04)
    result = subprocess.run(
        [sys.executable, "-m", "tests.av_sync", str(path), "--seconds", "3"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert (summary["video_codec"], summary["audio_codec"]) == ("h264", "pcm_mulaw")
    assert summary["markers"] == 4  # 0..3 s read from the first keyframe
    assert summary["median_ms"] == pytest.approx(40, abs=FILE_TOLERANCE_MS)
