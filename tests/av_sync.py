"""A/V offset from the media alone: the sync marker's tone-burst onsets against its white-strip frames.

The simulator's `sync=1` cameras (tests/simulator/marker.py) start a 1 kHz tone burst on the first frame of each
second, which shows a white strip below the timecode band. Here, decoded media (an HLS URL, an RTSP URL or an MP4
file, read by PyAV) gives the presentation times of the frames whose strip turned white and the times of the samples
where a burst starts (the first sample above a fraction of the loudest after at least half a second under it); each
onset is paired with the nearest marker frame and the offset is audio minus video, in milliseconds (positive: sound
late).

    python -m tests.av_sync URL_OR_FILE [--seconds 6] [--live-start 0]   # prints JSON
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import av
import av.container
import numpy as np
from numpy.typing import NDArray

from tests.simulator.marker import THRESHOLD_LUMA, marker_level

ONSET_FRACTION = 0.3  # of the loudest sample: well above codec noise, reached in the burst's first half period
QUIET_SECONDS = 0.5  # an onset follows at least this long under the threshold (bursts are a second apart)
GAP_SECONDS = 0.005  # audio missing for longer than this between decoded frames is a gap
PAIR_WITHIN_SECONDS = 0.45  # an onset further than this from every marker is left unpaired
OPEN_TIMEOUT = (20.0, 10.0)

type Samples = NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Pair:
    video_s: float
    audio_s: float
    offset_ms: float  # audio - video


@dataclass(slots=True)
class Measurement:
    markers: list[float] = field(default_factory=list)  # seconds, presentation times of marker frames
    onsets: list[float] = field(default_factory=list)  # seconds, tone-burst onsets
    pairs: list[Pair] = field(default_factory=list)
    audio_codec: str | None = None
    video_codec: str | None = None

    @property
    def offsets_ms(self) -> list[float]:
        return [pair.offset_ms for pair in self.pairs]

    def summary(self) -> dict[str, Any]:
        """Codecs, counts, offsets and their median and worst (largest magnitude), for reports and the CLI."""
        offsets = self.offsets_ms
        return {
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "markers": len(self.markers),
            "onsets": len(self.onsets),
            "pairs": [asdict(pair) for pair in self.pairs],
            "offsets_ms": offsets,
            "median_ms": statistics.median(offsets) if offsets else None,
            "worst_ms": max(offsets, key=abs) if offsets else None,
        }


# -- detection on decoded data -----------------------------------------------------------------------------------------


def find_markers(frames: Iterable[tuple[float, NDArray[np.uint8]]]) -> list[float]:
    """Times of the frames whose strip turned white, from (time, luma plane) in any order (B-frames decode out of
    presentation order)."""
    levels = sorted((time, marker_level(luma)) for time, luma in frames)
    markers: list[float] = []
    previous_on = False
    for time, level in levels:
        on = level > THRESHOLD_LUMA
        if on and not previous_on:
            markers.append(time)
        previous_on = on
    return markers


def find_onsets(chunks: Iterable[tuple[float, int, Samples]]) -> list[float]:
    """Tone-burst onsets (s) in mono float audio given as (start time s, sample rate, samples) chunks, each placed at
    its own time. The start of the audio and the end of a gap count as loud: a burst cut by them is no onset."""
    pieces = sorted(chunks, key=lambda chunk: chunk[0])
    loudest = max((float(np.abs(samples).max()) for _, _, samples in pieces if samples.size), default=0.0)
    if loudest <= 0:
        return []
    threshold = ONSET_FRACTION * loudest
    onsets: list[float] = []
    last_loud = expected_start = -float("inf")
    for start, rate, samples in pieces:
        if start - expected_start > GAP_SECONDS:
            last_loud = start
        expected_start = start + samples.size / rate
        for index in np.flatnonzero(np.abs(samples) > threshold):
            time = start + int(index) / rate
            if time - last_loud >= QUIET_SECONDS:
                onsets.append(time)
            last_loud = time
    return onsets


def pair_up(markers: Sequence[float], onsets: Sequence[float], within: float = PAIR_WITHIN_SECONDS) -> list[Pair]:
    """Each onset with its nearest marker, when one lies within `within` seconds."""
    pairs: list[Pair] = []
    for onset in onsets:
        nearest = min(markers, key=lambda marker: abs(onset - marker), default=None)
        if nearest is not None and abs(onset - nearest) <= within:
            pairs.append(Pair(nearest, onset, (onset - nearest) * 1000))
    return pairs


# -- decoding ------------------------------------------------------------------------------------------------------


def _frame_time(frame: av.VideoFrame | av.AudioFrame) -> float | None:
    if frame.pts is None or frame.time_base is None:
        return None
    return float(frame.pts * frame.time_base)


def _mono(frame: av.AudioFrame) -> Samples:
    """The frame's samples as float32 in the format's own scale (onsets are found relative to the loudest),
    channels averaged."""
    raw = frame.to_ndarray()
    values: Samples = np.asarray(raw, dtype=np.float32)
    if raw.dtype.kind == "u":
        values -= 128  # u8, FFmpeg's only unsigned sample format, is centred on 128
    if frame.format.is_planar:
        planar: Samples = values.mean(axis=0)
        return planar
    packed: Samples = values.reshape(-1, len(frame.layout.channels)).mean(axis=1)
    return packed


@dataclass(slots=True)
class _Decoded:
    frames: list[tuple[float, NDArray[np.uint8]]] = field(default_factory=list)
    chunks: list[tuple[float, int, Samples]] = field(default_factory=list)


def _decode_packet(packet: av.Packet[Any], decoded: _Decoded) -> float | None:
    """Decode one packet into `decoded`; the latest presentation time it gave, if any."""
    latest: float | None = None
    # Packet's stubs tie decode() to the packet's type parameter; a demuxed packet may be either kind.
    for frame in cast("list[av.VideoFrame | av.AudioFrame]", packet.decode()):
        time = _frame_time(frame)
        if time is None:
            continue
        if isinstance(frame, av.VideoFrame):
            decoded.frames.append((time, np.asarray(frame.to_ndarray(format="gray"), dtype=np.uint8)))
        elif isinstance(frame, av.AudioFrame):
            decoded.chunks.append((time, frame.sample_rate, _mono(frame)))
        latest = time if latest is None else max(latest, time)
    return latest


def _packets(container: av.container.InputContainer) -> Iterator[av.Packet[Any]]:
    streams = [*container.streams.video[:1], *container.streams.audio[:1]]
    started = False
    for packet in container.demux(streams):
        if packet.stream.type == "video":
            started = started or packet.is_keyframe  # video decodes from a keyframe; earlier audio is not paired
        if started and packet.size:
            yield packet


def decode(container: av.container.InputContainer, seconds: float | None) -> _Decoded:
    """Video and audio from the first keyframe until each has `seconds` of media (all of it with None): demuxers
    interleave loosely, so one stream may run ahead of the other."""
    decoded = _Decoded()
    kinds = {stream.type for stream in (*container.streams.video[:1], *container.streams.audio[:1])}
    first: float | None = None
    latest: dict[str, float] = {}
    for packet in _packets(container):
        time = _decode_packet(packet, decoded)
        if time is None:
            continue
        first = time if first is None else min(first, time)
        latest[packet.stream.type] = max(time, latest.get(packet.stream.type, time))
        if seconds is not None and len(latest) == len(kinds) and min(latest.values()) - first >= seconds:
            break
    return decoded


def measure_container(container: av.container.InputContainer, seconds: float | None = None) -> Measurement:
    decoded = decode(container, seconds)
    markers, onsets = find_markers(decoded.frames), find_onsets(decoded.chunks)
    video = container.streams.video[0].codec_context.name if container.streams.video else None
    audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
    return Measurement(markers, onsets, pair_up(markers, onsets), audio, video)


def measure(source: str | Path, seconds: float | None = None, *, options: dict[str, str] | None = None) -> Measurement:
    """Open `source` (URL or file) with PyAV and measure `seconds` of it from its first keyframe (all with None).
    RTSP URLs are read over TCP; `options` go to the demuxer (e.g. {"live_start_index": "0"} for HLS)."""
    opts = dict(options or {})
    if str(source).startswith("rtsp://"):
        opts.setdefault("rtsp_transport", "tcp")
    with av.open(str(source), options=opts, timeout=OPEN_TIMEOUT) as container:
        return measure_container(container, seconds)


def _main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.av_sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="an HLS, RTSP or file URL, or a file path")
    parser.add_argument("--seconds", type=float, help="media seconds to read (default: to the end)")
    parser.add_argument("--live-start", help="HLS: live_start_index (0: the first segment listed; -1: the newest)")
    args = parser.parse_args(argv)
    options = {"live_start_index": args.live_start} if args.live_start is not None else None
    print(json.dumps(measure(args.source, args.seconds, options=options).summary()))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
