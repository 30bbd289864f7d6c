"""The worker on file sources made by ffmpeg: MPEG-TS with ADTS AAC (FFmpeg's default PES packing) keeps its audio.

The case where the probe ends before the demuxer learns the sample rate, leaving packed frames without timestamps,
is reproduced by `bench/remux.py --audio-pes packed` (1080p input); this small input does not trigger it."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from custom_components.stream.exceptions import StreamEndedError
from custom_components.stream.remux.media import Part, SegmentHeader
from custom_components.stream.remux.segmenter import StreamTimeline
from custom_components.stream.settings import settings_from_config
from custom_components.stream.source.options import source_open_options
from custom_components.stream.source.run import LiveSink, WorkerRun
from custom_components.stream.source.worker import run_worker
from tests.test_worker_e2e import decode


def file_run(source: Path, parts: list[tuple[SegmentHeader, Part]], live: LiveSink | None = None) -> WorkerRun:
    """A worker run over a file with the default settings, its parts appended to `parts`."""
    return WorkerRun(
        source=str(source),
        open_options=source_open_options(str(source), {}),
        settings=settings_from_config({}),
        timeline=StreamTimeline(),
        sink=lambda header, part, last: parts.append((header, part)),
        on_discontinuity=lambda: None,
        on_started=lambda: None,
        on_keyframe=lambda codec, extradata, data: None,
        quit=threading.Event(),
        live=live,
    )


def make_ts(path: Path, seconds: int = 3) -> None:
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-g", "30", "-preset", "ultrafast", "-b:v", "8M", "-maxrate", "8M", "-bufsize", "16M",
            "-c:a", "aac", "-ac", "1", "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip


def test_mpegts_with_adts_aac_keeps_its_audio(tmp_path: Path) -> None:
    source = tmp_path / "camera.ts"
    make_ts(source)
    parts: list[tuple[SegmentHeader, Part]] = []
    run = file_run(source, parts)

    with pytest.raises(StreamEndedError):
        run_worker(run)

    assert parts
    header = parts[0][0]
    assert "mp4a.40.2" in header.codecs
    video_frames, audio_frames, _, _ = decode(header.init + b"".join(part.data for _, part in parts))
    assert video_frames == 90
    assert audio_frames > 100  # ~3 s of 1024-sample frames at 44.1/48 kHz, not just one per PES packet
