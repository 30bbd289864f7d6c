"""Helpers for the fMP4 tests: encode tiny real streams with the ffmpeg CLI, demux them with PyAV, mux them with
our writer and inspect the result with ffprobe / ffmpeg. Holds no tests itself."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import av

from custom_components.stream.remux.fmp4 import Fmp4Writer, make_audio_track, make_video_track
from custom_components.stream.remux.media import Sample, SampleData

SIZE = "160x120"
FPS = 15
GOP = 5


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=60)


def encode(
    path: Path,
    video: list[str],
    audio: list[str] | None = None,
    *,
    size: str = SIZE,
    frames: int = FPS,
    extra: tuple[str, ...] = (),
) -> Path:
    """Encode `frames` frames of test pattern (and 1 s of tone when `audio` is given) into `path`."""
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={FPS}"]
    if audio is not None:
        inputs += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=1"]
    ffmpeg(*inputs, "-frames:v", str(frames), *video, *(audio or ["-an"]), "-ac", "2", *extra, str(path))
    return path


@dataclass
class Packet:
    dts: int
    pts: int
    duration: int
    keyframe: bool
    data: bytes


@dataclass
class StreamInfo:
    codec: str
    timescale: int
    extradata: bytes | None
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    channels: int = 0
    packets: list[Packet] = field(default_factory=list)


@dataclass
class Demuxed:
    video: StreamInfo
    audio: StreamInfo | None


def demux(path: Path) -> Demuxed:
    """Every packet of the first video and audio stream, timestamps in the stream time base (1/timescale)."""
    with av.open(str(path)) as container:
        vstream = container.streams.video[0]
        astream = container.streams.audio[0] if container.streams.audio else None
        for stream in (vstream, astream):
            assert stream is None or (stream.time_base is not None and stream.time_base.numerator == 1)
        video = StreamInfo(
            vstream.codec_context.name,
            vstream.time_base.denominator if vstream.time_base else 0,
            vstream.codec_context.extradata,
            vstream.codec_context.width,
            vstream.codec_context.height,
        )
        audio = None
        if astream is not None:
            audio = StreamInfo(
                astream.codec_context.name,
                astream.time_base.denominator if astream.time_base else 0,
                astream.codec_context.extradata,
                sample_rate=astream.codec_context.sample_rate,
                channels=astream.codec_context.channels,
            )
        for packet in container.demux():
            if packet.dts is None or packet.size == 0:
                continue
            target = video if packet.stream.index == vstream.index else audio
            assert target is not None
            assert packet.pts is not None
            target.packets.append(
                Packet(packet.dts, packet.pts, packet.duration or 0, packet.is_keyframe, bytes(packet))
            )
    return Demuxed(video, audio)


def to_samples(packets: list[Packet], normalize: Callable[[bytes], SampleData], offset: int) -> list[Sample]:
    """Samples with each duration taken from the next packet's dts, as the worker computes them."""
    samples: list[Sample] = []
    for index, packet in enumerate(packets):
        if index + 1 < len(packets):
            duration = packets[index + 1].dts - packet.dts
        else:
            duration = packet.duration or (samples[-1].duration if samples else 1)
        samples.append(
            Sample(packet.dts + offset, packet.pts + offset, duration, packet.keyframe, normalize(packet.data))
        )
    return samples


@dataclass
class Muxed:
    writer: Fmp4Writer
    init: bytes
    fragments: list[bytes]
    video: list[Sample]  # what went in, timestamps shifted by the offsets
    audio: list[Sample]
    video_groups: list[list[Sample]]


def mux(
    source: Demuxed,
    *,
    cut: Literal["keyframe", "every_3"] = "every_3",
    drop_extradata: bool = False,
    orientation: int = 1,
) -> Muxed:
    """Mux `source` with our writer into fragments cut at every keyframe, or every 3 video frames (mid-GOP)."""
    v = source.video
    video_track = make_video_track(
        v.codec,
        v.timescale,
        v.width,
        v.height,
        None if drop_extradata else v.extradata,
        first_keyframe=v.packets[0].data,
    )
    audio_track = None
    a = source.audio
    if a is not None:
        audio_track = make_audio_track(
            a.codec,
            a.timescale,
            a.sample_rate,
            a.channels,
            None if drop_extradata else a.extradata,
            first_packet=a.packets[0].data,
        )
    writer = Fmp4Writer(video_track, audio_track)
    # Timestamps must not be negative in fMP4 (tfdt is unsigned): shift each track as a segmenter would.
    video_offset = max(0, -min(p.dts for p in v.packets))
    video = to_samples(v.packets, writer.video_sample_data, video_offset)
    audio: list[Sample] = []
    audio_timescale = a.timescale if a is not None else 1
    if a is not None:
        audio = to_samples(a.packets, writer.audio_sample_data, max(0, -min(p.dts for p in a.packets)))

    groups: list[list[Sample]] = []
    for index, sample in enumerate(video):
        if not groups or (sample.keyframe if cut == "keyframe" else index % 3 == 0):
            groups.append([])
        groups[-1].append(sample)

    fragments = []
    audio_index = 0
    for number, group in enumerate(groups):
        # Audio up to the end of this group's decode-time range goes with it; the rest with the last group.
        last = number == len(groups) - 1
        end = (group[-1].dts + group[-1].duration) / v.timescale
        start_audio = audio_index
        while audio_index < len(audio) and (last or audio[audio_index].dts / audio_timescale < end):
            audio_index += 1
        fragments.append(writer.fragment(number + 1, group, audio[start_audio:audio_index]))
    return Muxed(writer, writer.init_segment(orientation), fragments, video, audio, groups)


def ffprobe(path: Path, *entries: str) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", *entries, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def decode_errors(path: Path) -> str:
    """What ffmpeg reports while decoding every stream of `path`, stopping at the first error ('' when clean)."""
    result = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stderr.strip() or ("" if result.returncode == 0 else f"exit status {result.returncode}")


def decoded_frame_counts(path: Path) -> tuple[int, int]:
    """(video frames, audio frames) that PyAV decodes from `path`; decoding errors raise."""
    with av.open(str(path)) as container:
        video = sum(1 for _ in container.decode(video=0))
    audio = 0
    with av.open(str(path)) as container:
        if container.streams.audio:
            audio = sum(1 for _ in container.decode(audio=0))
    return video, audio
