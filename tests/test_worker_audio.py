"""The worker on file sources made by ffmpeg, for the audio HLS carries: AAC passes through byte for byte, G.711
becomes an AAC track as long as the video, and audio that does not decode never stops the video."""

from __future__ import annotations

import io
import random
import subprocess
from pathlib import Path

import av
import pytest

from custom_components.stream.exceptions import StreamEndedError
from custom_components.stream.remux.fmp4.aac import strip_adts
from custom_components.stream.remux.fragments import parse_fragment, track_timescales
from custom_components.stream.remux.media import Part, SegmentHeader
from custom_components.stream.source.worker import run_worker
from tests.test_worker_files import file_run

SECONDS = 4


def make_file(path: Path, audio: list[str], seconds: int = SECONDS) -> None:
    """H.264 with a keyframe a second and a 440 Hz tone encoded with the ffmpeg arguments `audio`."""
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=30:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            "-c:v", "libx264", "-g", "30", "-preset", "ultrafast", *audio, "-shortest", str(path),
        ],
        check=True,
    )  # fmt: skip


def run_file(source: Path) -> tuple[SegmentHeader, list[bytes]]:
    """The init segment's header and the fragments the worker made of the whole file."""
    parts: list[tuple[SegmentHeader, Part]] = []
    run = file_run(source, parts)
    with pytest.raises(StreamEndedError):
        run_worker(run)
    assert parts
    assert len({header.init for header, _ in parts}) == 1
    return parts[0][0], [part.data for _, part in parts]


def track_durations(header: SegmentHeader, fragments: list[bytes]) -> tuple[float, float]:
    """Seconds of video and of audio in the fragments."""
    timescales = track_timescales(header.init)
    parsed = [parse_fragment(data) for data in fragments]
    video = sum(sample.duration for fragment in parsed for sample in fragment.video) / timescales[1]
    audio = sum(sample.duration for fragment in parsed for sample in fragment.audio) / timescales[2]
    return video, audio


def test_aac_passes_through_byte_for_byte(tmp_path: Path) -> None:
    source = tmp_path / "camera.ts"
    make_file(source, ["-c:a", "aac", "-ac", "1"])
    with av.open(str(source)) as container:
        sent = [strip_adts(bytes(packet)) for packet in container.demux(audio=0) if packet.size]

    header, fragments = run_file(source)

    served = [bytes(sample.data) for data in fragments for sample in parse_fragment(data).audio]
    assert "mp4a.40.2" in header.codecs
    assert len(served) > SECONDS * 40
    start = sent.index(served[0])
    assert served == sent[start : start + len(served)]  # the camera's own frames, none re-encoded


@pytest.mark.parametrize(("codec", "rate"), [("pcm_mulaw", 8000), ("pcm_alaw", 8000), ("libopus", 48000)])
def test_g711_and_opus_become_an_aac_track_as_long_as_the_video(tmp_path: Path, codec: str, rate: int) -> None:
    source = tmp_path / "camera.mkv"
    make_file(source, ["-c:a", codec, "-ar", str(rate), "-ac", "1"])

    header, fragments = run_file(source)

    assert header.codecs.endswith(",mp4a.40.2")
    assert track_timescales(header.init)[2] == rate  # the AAC track keeps the camera's rate
    video, audio = track_durations(header, fragments)
    assert audio == pytest.approx(video, abs=0.2)
    with av.open(io.BytesIO(header.init + b"".join(fragments)), "r") as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.codec_context.sample_rate) == ("aac", rate)
        decoded = sum(frame.samples for frame in container.decode(stream))
    assert decoded / rate == pytest.approx(video, abs=0.2)


def damage_audio(source: Path, damaged: Path, seed: int) -> int:
    """A copy of `source` whose Opus packets from the first second on do not decode (a code-3 TOC byte saying zero
    frames, then random bytes); the number damaged."""
    rng = random.Random(seed)
    count = 0
    with av.open(str(source)) as inp, av.open(str(damaged), "w") as out:
        streams = {stream.index: out.add_stream_from_template(stream) for stream in inp.streams}
        for packet in inp.demux():
            if not packet.size:
                continue
            written = packet
            if packet.stream.type == "audio" and packet.pts is not None and packet.pts * packet.time_base >= 1:
                written = av.Packet(b"\x03\x00" + rng.randbytes(rng.randrange(0, 2 * packet.size)))
                written.pts, written.dts, written.time_base = packet.pts, packet.dts, packet.time_base
                count += 1
            written.stream = streams[packet.stream_index]
            out.mux(written)
    return count


def test_audio_that_does_not_decode_never_stops_the_video(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Opus packets of random bytes from the first second on: every video frame still reaches HLS as from the intact
    file, the AAC track keeps the video's length (silence stands in), and the damage is one log line."""
    # NUT: its demuxer hands packets over as they are (Matroska's Opus parser would drop these before us).
    source, damaged = tmp_path / "camera.nut", tmp_path / "damaged.nut"
    make_file(source, ["-c:a", "libopus", "-ac", "1"])
    assert damage_audio(source, damaged, 16) > 40

    _, intact = run_file(source)
    caplog.clear()
    header, fragments = run_file(damaged)

    video_samples = [sample.data for data in fragments for sample in parse_fragment(data).video]
    assert video_samples == [sample.data for data in intact for sample in parse_fragment(data).video]
    video, audio = track_durations(header, fragments)
    assert audio == pytest.approx(video, abs=0.2)
    lines = [record for record in caplog.records if "audio to transcode" in record.getMessage()]
    assert len(lines) == 1, [record.getMessage() for record in lines]


def unknown_audio_codec(source: Path, changed: Path) -> None:
    """A copy of a G.711 Matroska file whose WAVEFORMATEX names a format tag FFmpeg has no codec for (0x1234)."""
    data = source.read_bytes()
    codec_private = data.index(b"\x63\xa2", data.index(b"A_MS/ACM"))  # the element id, then a 1-byte size
    tag = codec_private + 3
    assert data[tag : tag + 2] == b"\x07\x00"  # WAVE_FORMAT_MULAW
    changed.write_bytes(data[:tag] + b"\x34\x12" + data[tag + 2 :])


def test_audio_ffmpeg_does_not_know_leaves_the_video(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A camera audio codec FFmpeg has no decoder for (nor even a name): the video plays, without an audio track,
    after one log line."""
    source, changed = tmp_path / "camera.mkv", tmp_path / "unknown.mkv"
    make_file(source, ["-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1"])
    unknown_audio_codec(source, changed)
    with av.open(str(changed)) as container:
        assert container.streams.audio  # the stream is there, its codec unknown

    header, fragments = run_file(changed)

    assert "mp4a" not in header.codecs
    video_samples = sum(len(parse_fragment(data).video) for data in fragments)
    assert video_samples >= (SECONDS - 1) * 30
    lines = [record for record in caplog.records if "Playing without audio" in record.getMessage()]
    assert len(lines) == 1
