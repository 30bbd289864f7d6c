"""Remux benchmark: our worker against Home Assistant's built-in `stream` worker, same input, same process.

For every codec (H.264, H.265), camera audio (AAC in MPEG-TS, Annex-B + ADTS like a network camera; G.711 mu-law
8 kHz and Opus in Matroska, which ours transcodes to AAC and the built-in drops; the video alone in Matroska) and part
target, both workers remux the same cached file (1920x1080 30 fps, ~4 Mbit/s, GOP 2 s, with the simulator's A/V sync
marker) inside one real Home Assistant instance, with the same LL-HLS settings, interleaved (ours first on even
repetitions, built-in first on odd ones), after one unmeasured warm-up per implementation. By default the file is
demuxed as fast as possible, so one run lasts from `Stream.start()` until the stream reports itself unavailable
through its update callback (the worker hit end of stream); then the stream is stopped. With --live, ffmpeg serves
the file in real time over loopback TCP instead, which adds the per-packet wake-ups a camera causes. Reported,
medians over `--repeat` runs:

- CPU s per media s: process CPU time (every thread: the worker and the event loop work each design causes) divided by
  the input duration. Target: ours <= 0.6x the built-in's with AAC; with G.711 (transcoded by ours, dropped by the
  built-in) <= 1.1x (issue 16); Opus and the video alone ("none") reported. A second table gives what transcoding
  adds to ours: G.711 and Opus against the same video without audio, in the same container.
- steady CPU s per media s: the same from the first part on (opening and probing excluded), per media second of the
  parts delivered after the first.
- wall s: elapsed time of the run (noisy on a shared machine; informational).
- peak Py MiB: tracemalloc peak of the Python allocations made during one run. Measured in a fresh subprocess per
  implementation, always reading the file at full speed (tracemalloc slows Python, so never during the CPU runs).
  FFmpeg's own buffers are not Python allocations, and the built-in muxes inside libavformat, so this undercounts the
  built-in more than ours.
- peak RSS +MiB: growth of the resident set over one untraced run in that same subprocess (peak reset through
  /proc/self/clear_refs after a warm-up run); includes FFmpeg's allocations.
- parts and part s total: parts delivered to the event loop and the sum of their durations (sanity: ours should cover
  the whole input; the built-in drops its last, unflushed part at end of stream).
- A/V offset (ours): one more run per input writes ours' output to a file; tests/av_sync.py pairs each tone-burst
  onset with its marker frame there: median and worst audio-minus-video offset over the run (--duration 300 for a
  5-minute run; --no-sync skips it).

A verdict is INVALID (and the exit status 1, as for FAIL) when a worker produced no parts, never reached the end, or
logged anything but the expected end-of-stream error; the warnings list what it logged, tracebacks included.

Run (inputs are generated once with the ffmpeg CLI and cached in bench/.cache/; the report is also written to
bench/results/remux-<date>[-quick][-live][-packed].md):

    scripts/sandbox --private-net python bench/remux.py            # 60 s input, 3 repeats, h264+hevc, parts 1.0,0.5
    scripts/sandbox --private-net python bench/remux.py --quick    # 10 s input, 1 repeat: smoke run
    scripts/sandbox --private-net python bench/remux.py --codec h264 --part 1.0 --repeat 9 --no-memory
    scripts/sandbox --private-net python bench/remux.py --live --part 1.0 --no-memory   # real time: ~1 min per run
    scripts/sandbox --private-net python bench/remux.py --quick --audio-pes packed      # FFmpeg's default PES packing
    scripts/sandbox --private-net python bench/remux.py --codec h264 --part 1.0 --audio pcmu,opus,none --duration 300 \
        --repeat 1 --no-memory                                     # issue 16: transcoding cost, A/V offset over 5 min
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Protocol

if (_PROJECT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _PROJECT)  # run as a script: our `custom_components`, not pytest-homeassistant's empty one

# The built-in's classes are bound here, at import, before our integration's takeover points the built-in module's
# `Stream` name at ours.
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.components.stream import Stream as BuiltinStream
from homeassistant.components.stream import core as builtin_core
from homeassistant.core import HomeAssistant

from bench.common.cameras import CACHE_DIR, encoded_file, paced_source
from bench.common.hass import home_assistant, stop_stream
from bench.common.logs import LogCapture, setup_logging
from bench.common.proc import peak_rss, reset_peak_rss
from bench.common.processes import emit, run_child
from bench.common.report import Machine, fmt, head, publish, ratio, table_head, warnings_section
from bench.common.stats import median
from custom_components.stream.core import Stream as OurStream
from custom_components.stream.remux.media import Part as OurPart
from custom_components.stream.remux.media import Segment as OurSegment
from custom_components.stream.settings import settings_from_config
from tests import av_sync
from tests.simulator import marker

CPU_TARGET_RATIO = 0.6
TRANSCODE_TARGET_RATIO = 1.1
SEGMENT_DURATION = 6.0  # both integrations' default
OUTPUT_TIMEOUT = 3600  # idle/startup timeout of the HLS output: never let it end a run
WARMUP_PARTS = 4  # a warm-up run stops after this many parts (imports and first-use setup done)
MEMORY_MARKER = "MEMORY-PROBE "
MEMORY_FIGURES = ("rss_peak", "py_peak", "parts")
IMPLEMENTATIONS = ("ours", "built-in")
CODECS = ("h264", "hevc")
EXPECTED_END = "Stream ended"  # both workers log this error when the file ends

_LOGGER = logging.getLogger("bench.remux")


# -- inputs ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One generated test input; the cache file name encodes every parameter."""

    codec: str
    duration: int
    width: int = 1920
    height: int = 1080
    fps: int = 30
    gop_seconds: int = 2
    video_mbit: int = 4
    # "frame": one ADTS frame per PES, so every audio frame carries its own timestamp (as every RTP packet does).
    # "packed": FFmpeg's default, several ADTS frames per PES; only the first has a timestamp and the demuxer fills
    # in the others only once it has probed the audio parameters.
    audio_pes: str = "frame"
    audio: str = "aac"  # a key of AUDIO_INPUTS

    @property
    def path(self) -> Path:
        audio = AUDIO_INPUTS[self.audio]
        pes = f"-pes{self.audio_pes}" if audio.suffix == ".ts" else ""
        return CACHE_DIR / (
            f"{self.codec}-{self.width}x{self.height}p{self.fps}-{self.video_mbit}M-gop{self.gop_seconds}s"
            f"-{self.audio}{pes}-sync-{self.duration}s{audio.suffix}"
        )

    def describe(self) -> str:
        audio = AUDIO_INPUTS[self.audio]
        container = f"MPEG-TS, {self.audio_pes} per PES" if audio.suffix == ".ts" else "Matroska"
        return (
            f"{self.codec} {self.width}x{self.height} {self.fps} fps, {self.video_mbit} Mbit/s, "
            f"GOP {self.gop_seconds} s, {audio.label}, sync marker, {self.duration} s, {container}"
        )


@dataclass(frozen=True, slots=True)
class AudioInput:
    label: str
    rate: int
    encoder: tuple[str, ...]
    suffix: str  # the container: MPEG-TS as cameras send AAC, Matroska for what MPEG-TS cannot carry
    cpu_target: float | None  # ours/built-in CPU target, if the issue sets one


AUDIO_INPUTS = {
    "aac": AudioInput("AAC-LC mono 48 kHz 64 kbit/s", 48000, ("aac", "-b:a", "64k"), ".ts", CPU_TARGET_RATIO),
    # Issue 16: a G.711 camera, its audio transcoded to AAC by ours (the built-in drops it), <= 1.1x the built-in.
    "pcmu": AudioInput("G.711 mu-law mono 8 kHz, 20 ms packets", 8000, ("pcm_mulaw",), ".mkv", TRANSCODE_TARGET_RATIO),
    "opus": AudioInput("Opus mono 48 kHz 32 kbit/s", 48000, ("libopus", "-b:a", "32k"), ".mkv", None),
    # The same video alone, in the same container as G.711 and Opus: what their audio adds, with nothing else changed.
    "none": AudioInput("no audio", 0, (), ".mkv", None),
}


def ensure_input(spec: InputSpec) -> Path:
    """Generate `spec` with the ffmpeg CLI unless it is cached: testsrc2 and tone bursts with the simulator's sync
    marker (a white strip on the first frame of each second, a 1 kHz burst starting with it)."""
    gop = spec.fps * spec.gop_seconds
    if spec.codec == "h264":
        video = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-sc_threshold", "0"]
    else:
        # Closed GOPs (IDR) with in-band parameter sets, like cameras; libx265 ignores -sc_threshold.
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:repeat-headers=1:log-level=error"
        video = ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", params]
    rate = f"{spec.video_mbit}M"
    audio = AUDIO_INPUTS[spec.audio]
    audio_input, audio_output = _audio_arguments(audio)
    return encoded_file(
        spec.path.name,
        [
            *("-f", "lavfi", "-i", marker.lavfi_video(spec.width, spec.height, spec.fps)),
            *audio_input,
            *("-t", str(spec.duration), "-map", "0:v"),
            *video,
            *("-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop)),
            *("-b:v", rate, "-maxrate", rate, "-bufsize", f"{2 * spec.video_mbit}M"),
            *audio_output,
            *(("-pes_payload_size", "0") if spec.audio_pes == "frame" and audio.suffix == ".ts" else ()),
            *("-f", "mpegts" if audio.suffix == ".ts" else "matroska"),
        ],
    )


def _audio_arguments(audio: AudioInput) -> tuple[list[str], list[str]]:
    """The ffmpeg input and output arguments of the tone bursts encoded as `audio`; none for no audio."""
    if not audio.encoder:
        return [], ["-an"]
    bursts = marker.lavfi_audio(audio.rate, frame_samples=audio.rate // 50)
    return ["-f", "lavfi", "-i", bursts], ["-map", "1:a", "-c:a", *audio.encoder, "-ac", "1"]


# -- Home Assistant and the two implementations ------------------------------------------------------------------------


class BenchStream(Protocol):
    """What the bench uses of a stream; both `Stream` classes have it."""

    @property
    def available(self) -> bool: ...

    def set_update_callback(self, update_callback: Callable[[], None]) -> None: ...

    async def start(self) -> None: ...


@dataclass(slots=True)
class PartCounter:
    """Parts delivered on the event loop; sets `done` after `stop_after` parts (warm-up runs)."""

    done: asyncio.Event
    stop_after: int | None = None
    count: int = 0
    seconds: float = 0.0
    first_cpu: float = 0.0  # process CPU time when the first part arrived
    first_seconds: float = 0.0  # the first part's duration

    def add(self, duration: float) -> None:
        self.count += 1
        self.seconds += duration
        if self.count == 1:
            self.first_cpu, self.first_seconds = time.process_time(), duration
        if self.stop_after is not None and self.count >= self.stop_after:
            self.done.set()


class Implementation(Protocol):
    name: str

    def create(self, hass: HomeAssistant, source: str, part_target: float, counter: PartCounter) -> BenchStream: ...

    async def stop(self, hass: HomeAssistant, stream: BenchStream) -> None: ...


class Ours:
    """This project's `Stream`, with the settings `stream: {part_duration: <part>}` gives."""

    name = "ours"

    def create(self, hass: HomeAssistant, source: str, part_target: float, counter: PartCounter) -> BenchStream:
        settings = settings_from_config({"part_duration": part_target, "segment_duration": SEGMENT_DURATION})
        stream = OurStream(hass, source, {}, settings, DynamicStreamSettings())
        if type(stream).__module__ != "custom_components.stream.core":
            raise RuntimeError(f"Not our stream: {type(stream)!r}")
        stream.add_provider("hls", timeout=OUTPUT_TIMEOUT)

        def on_part(segment: OurSegment, part: OurPart) -> None:
            counter.add(part.duration)

        stream.buffer.add_listener(on_part)
        return stream

    async def stop(self, hass: HomeAssistant, stream: BenchStream) -> None:
        assert isinstance(stream, OurStream)
        await stop_stream(hass, stream)


class CapturingOurs(Ours):
    """Ours, writing its output (init segments and parts: a playable fragmented MP4) to `path`, for the A/V offset;
    never used for the CPU figures."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self, hass: HomeAssistant, source: str, part_target: float, counter: PartCounter) -> BenchStream:
        stream = super().create(hass, source, part_target, counter)
        assert isinstance(stream, OurStream)
        written: list[bytes] = []

        def on_part(segment: OurSegment, part: OurPart) -> None:
            with self.path.open("ab") as file:
                if not written or written[-1] != segment.init:
                    written.append(segment.init)
                    file.write(segment.init)
                file.write(part.data)

        stream.buffer.add_listener(on_part)
        return stream


class Builtin:
    """Home Assistant's built-in `Stream`, with the settings its `stream: {part_duration: <part>}` gives."""

    name = "built-in"

    def __init__(self) -> None:
        self._counter: PartCounter | None = None
        # Instrumentation: the built-in has no part listener, so count the parts its worker hands to the loop.
        original = builtin_core.Segment.async_add_part

        def async_add_part(segment: builtin_core.Segment, part: builtin_core.Part, duration: float) -> None:
            if self._counter is not None:
                self._counter.add(part.duration)
            original(segment, part, duration)

        builtin_core.Segment.async_add_part = async_add_part  # type: ignore[method-assign,assignment]

    def create(self, hass: HomeAssistant, source: str, part_target: float, counter: PartCounter) -> BenchStream:
        settings = builtin_core.StreamSettings(
            ll_hls=True,
            min_segment_duration=SEGMENT_DURATION - 0.1,
            part_target_duration=part_target,
            hls_advance_part_limit=max(int(3 / part_target), 3),
            hls_part_timeout=2 * part_target,
        )
        stream = BuiltinStream(
            hass, source, pyav_options={}, stream_settings=settings, dynamic_stream_settings=DynamicStreamSettings()
        )
        if type(stream).__module__ != "homeassistant.components.stream":
            raise RuntimeError(f"Not the built-in stream: {type(stream)!r}")
        stream.add_provider("hls", timeout=OUTPUT_TIMEOUT)
        self._counter = counter
        return stream

    async def stop(self, hass: HomeAssistant, stream: BenchStream) -> None:
        assert isinstance(stream, BuiltinStream)
        await stop_stream(hass, stream)
        self._counter = None


# -- one run -----------------------------------------------------------------------------------------------------------


class Memory(Enum):
    NONE = "none"
    TRACE = "tracemalloc"
    RSS = "rss"


@dataclass(slots=True)
class RunResult:
    cpu_s: float
    steady_cpu_per_media_s: float | None  # from the first part to the end, per media second delivered after it
    wall_s: float
    parts: int
    part_seconds: float
    ended: bool  # the stream reported unavailable (end of file) before the timeout
    problems: list[str] = field(default_factory=list)
    peak_bytes: int | None = None


async def run_once(
    hass: HomeAssistant,
    impl: Implementation,
    source: Path | str,
    part_target: float,
    *,
    limit_s: float,
    logs: LogCapture,
    memory: Memory = Memory.NONE,
    stop_after_parts: int | None = None,
) -> RunResult:
    """Start a stream on `source`, wait until it reports end of stream (or enough parts), stop it."""
    done = asyncio.Event()
    counter = PartCounter(done, stop_after_parts)
    stream = impl.create(hass, str(source), part_target, counter)
    end: list[tuple[float, float]] = []

    def on_update() -> None:
        # Called on the loop after every part the worker queued before it gave up, so all parts are counted.
        if not stream.available and not end:
            end.append((time.process_time(), time.monotonic()))
            done.set()

    stream.set_update_callback(on_update)
    logs.take_unexpected()
    gc.collect()  # garbage of the previous run is not this run's work
    rss_base = 0
    if memory is Memory.TRACE:
        tracemalloc.start()
    elif memory is Memory.RSS:
        rss_base = reset_peak_rss()
    cpu_start, wall_start = time.process_time(), time.monotonic()
    await stream.start()
    try:
        async with asyncio.timeout(limit_s):
            await done.wait()
    except TimeoutError:
        pass
    cpu_end, wall_end = end[0] if end else (time.process_time(), time.monotonic())
    peak: int | None = None
    if memory is Memory.TRACE:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    elif memory is Memory.RSS:
        peak = peak_rss() - rss_base
    stream.set_update_callback(lambda: None)
    await impl.stop(hass, stream)
    await hass.async_block_till_done()
    problems = logs.take_unexpected()
    finished = bool(end) or counter.done.is_set()
    if not finished:
        problems.append(f"no end of stream within {limit_s:.0f} s")
    steady_media = counter.seconds - counter.first_seconds
    return RunResult(
        cpu_s=cpu_end - cpu_start,
        steady_cpu_per_media_s=(cpu_end - counter.first_cpu) / steady_media if steady_media > 0 else None,
        wall_s=wall_end - wall_start,
        parts=counter.count,
        part_seconds=counter.seconds,
        ended=bool(end),
        problems=problems,
        peak_bytes=peak,
    )


def _run_timeout(duration: float) -> float:
    return max(60.0, 5.0 * duration)


# -- CPU pass (this process) and memory pass (one subprocess per implementation) ---------------------------------------

type Key = tuple[str, str, float, str]  # codec, audio, part target, implementation
type InputKey = tuple[str, str]  # codec, audio


@dataclass(slots=True)
class Config:
    duration: int
    repeat: int
    codecs: list[str]
    parts: list[float]
    memory: bool
    audio_pes: str = "frame"
    live: bool = False
    audios: list[str] = field(default_factory=lambda: ["aac"])
    sync: bool = True

    def spec(self, codec: str, audio: str) -> InputSpec:
        return InputSpec(codec, self.duration, audio_pes=self.audio_pes, audio=audio)

    def inputs(self) -> list[InputKey]:
        return [(codec, audio) for codec in self.codecs for audio in self.audios]


def source_for(path: Path, config: Config) -> AbstractAsyncContextManager[str]:
    """The file itself, or (--live) the file paced at its own rate by the ffmpeg CLI over loopback TCP."""
    return paced_source(path, config.audio_pes) if config.live else nullcontext(str(path))


async def cpu_pass(config: Config, inputs: dict[InputKey, Path]) -> tuple[dict[Key, list[RunResult]], list[str]]:
    """Every (input, part) pair, both implementations interleaved, `repeat` times."""
    results: dict[Key, list[RunResult]] = {}
    warnings: list[str] = []
    logs = LogCapture(expected=(EXPECTED_END,))
    impls: list[Implementation] = [Ours(), Builtin()]
    limit_s = _run_timeout(config.duration)
    async with home_assistant() as hass:
        for codec, audio in config.inputs():
            for impl in impls:  # first use imports PyAV, the muxers, the parsers, the transcoder: not measured
                warm = await run_once(
                    hass,
                    impl,
                    inputs[(codec, audio)],
                    config.parts[0],
                    limit_s=limit_s,
                    logs=logs,
                    stop_after_parts=WARMUP_PARTS,
                )
                warnings += [f"{codec}+{audio} {impl.name} warm-up: {problem}" for problem in warm.problems]
        for rep in range(config.repeat):
            for codec, audio in config.inputs():
                for part in config.parts:
                    order = impls if rep % 2 == 0 else impls[::-1]
                    for impl in order:
                        async with source_for(inputs[(codec, audio)], config) as source:
                            result = await run_once(hass, impl, source, part, limit_s=limit_s, logs=logs)
                        results.setdefault((codec, audio, part, impl.name), []).append(result)
                        print(
                            f"  run {rep + 1}/{config.repeat} {codec}+{audio} part {part:g} s {impl.name:8}: "
                            f"CPU {result.cpu_s / config.duration:.5f} s/media s "
                            f"(steady {fmt(result.steady_cpu_per_media_s, '.5f')}), wall {result.wall_s:.2f} s, "
                            f"{result.parts} parts ({result.part_seconds:.2f} s)",
                            flush=True,
                        )
                        where = f"{codec}+{audio} part {part:g} {impl.name}"
                        warnings += [f"{where}: {problem}" for problem in result.problems]
    return results, warnings


async def sync_pass(
    config: Config, inputs: dict[InputKey, Path]
) -> tuple[dict[InputKey, av_sync.Measurement], list[str]]:
    """One more run of ours per input (unmeasured for CPU), its output written to a file; the A/V offset measured in
    that file from the inputs' sync marker (tests/av_sync.py). The built-in drops G.711 and Opus: not measured."""
    measured: dict[InputKey, av_sync.Measurement] = {}
    warnings: list[str] = []
    logs = LogCapture(expected=(EXPECTED_END,))
    with tempfile.TemporaryDirectory(prefix="bench-remux-sync-") as directory:
        async with home_assistant() as hass:
            for codec, audio in config.inputs():
                if not AUDIO_INPUTS[audio].encoder:
                    continue  # no sound to be in sync with
                output = Path(directory) / f"{codec}-{audio}.mp4"
                async with source_for(inputs[(codec, audio)], config) as source:
                    result = await run_once(
                        hass,
                        CapturingOurs(output),
                        source,
                        config.parts[0],
                        limit_s=_run_timeout(config.duration),
                        logs=logs,
                    )
                warnings += [f"{codec}+{audio} A/V offset run: {problem}" for problem in result.problems]
                measured[(codec, audio)] = await asyncio.to_thread(av_sync.measure, output)
                summary = measured[(codec, audio)].summary()
                print(
                    f"  A/V offset {codec}+{audio}: {len(summary['offsets_ms'])} bursts, median "
                    f"{fmt(summary['median_ms'], '.1f')} ms, worst {fmt(summary['worst_ms'], '.1f')} ms",
                    flush=True,
                )
    return measured, warnings


async def memory_probe(impl_name: str, source: Path, part_target: float, duration: int) -> dict[str, float | None]:
    """In a fresh process: a warm-up run, an untraced run for RSS growth, a tracemalloc run."""
    logs = LogCapture(expected=(EXPECTED_END,))
    impl: Implementation = Ours() if impl_name == "ours" else Builtin()
    limit_s = _run_timeout(duration)
    async with home_assistant() as hass:
        await run_once(hass, impl, source, part_target, limit_s=limit_s, logs=logs, stop_after_parts=WARMUP_PARTS)
        try:
            rss = await run_once(hass, impl, source, part_target, limit_s=limit_s, logs=logs, memory=Memory.RSS)
            rss_peak = rss.peak_bytes
        except OSError:  # no /proc/self/clear_refs: no RSS figure
            rss_peak = None
        traced = await run_once(hass, impl, source, part_target, limit_s=limit_s, logs=logs, memory=Memory.TRACE)
    return dict(zip(MEMORY_FIGURES, (rss_peak, traced.peak_bytes, traced.parts), strict=True))


def run_memory_subprocess(
    impl_name: str, codec: str, source: Path, part: float, duration: int
) -> dict[str, float | None]:
    print(f"  memory {codec} part {part:g} s {impl_name} ...", flush=True)
    args = [str(Path(__file__).resolve()), "--memory-probe", impl_name, "--source", str(source)]
    args += ["--part", str(part), "--duration", str(duration)]
    event = run_child(args, marker=MEMORY_MARKER, wanted="memory")
    return {key: event[key] for key in MEMORY_FIGURES}


# -- report ------------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    cpu: float  # median CPU s per media s
    cpu_runs: list[float]
    steady: float | None
    wall: float
    parts: float
    part_seconds: float
    py_mib: float | None
    rss_mib: float | None


def _mib(value: float | None) -> float | None:
    return None if value is None else value / 2**20


def _row(config: Config, runs: list[RunResult], mem: dict[str, float | None]) -> Row:
    cpu_runs = [run.cpu_s / config.duration for run in runs]
    return Row(
        cpu=statistics.median(cpu_runs),
        cpu_runs=cpu_runs,
        steady=median([run.steady_cpu_per_media_s for run in runs]),
        wall=statistics.median(run.wall_s for run in runs),
        parts=statistics.median(run.parts for run in runs),
        part_seconds=statistics.median(run.part_seconds for run in runs),
        py_mib=_mib(mem.get("py_peak")),
        rss_mib=_mib(mem.get("rss_peak")),
    )


def _offsets(measured: av_sync.Measurement | None) -> str:
    """'median / worst (n)' of an A/V offset measurement, ms."""
    if measured is None:
        return ""
    summary = measured.summary()
    if not summary["offsets_ms"]:
        return f"no bursts paired ({summary['audio_codec'] or 'no audio'})"
    return f"{summary['median_ms']:+.1f} / {summary['worst_ms']:+.1f} ({len(summary['offsets_ms'])})"


def summarize(
    config: Config,
    results: dict[Key, list[RunResult]],
    memory: dict[Key, dict[str, float | None]],
    offsets: dict[InputKey, av_sync.Measurement],
    warnings: list[str],
) -> tuple[str, str, dict[Key, Row]]:
    """The markdown table (sanity warnings appended to `warnings`), the overall PASS, FAIL or INVALID, the rows."""
    header = (
        "| codec | audio | part s | implementation | CPU s / media s | CPU runs | steady CPU s / media s | wall s "
        "| peak Py MiB | peak RSS +MiB | parts | part s total | A/V offset ms median / worst (bursts) | verdict |"
    )
    lines = table_head(header)
    verdicts: list[str] = []
    all_rows: dict[Key, Row] = {}
    for codec, audio in config.inputs():
        target = AUDIO_INPUTS[audio].cpu_target
        for part in config.parts:
            rows: dict[str, Row] = {}
            for impl in IMPLEMENTATIONS:
                runs = results[(codec, audio, part, impl)]
                rows[impl] = row = all_rows[(codec, audio, part, impl)] = _row(
                    config, runs, memory.get((codec, audio, part, impl), {})
                )
                warnings += _sanity(f"{codec}+{audio}", part, impl, row=row, runs=runs, duration=config.duration)
                sync = offsets.get((codec, audio)) if impl == "ours" and part == config.parts[0] else None
                lines.append(
                    f"| {codec} | {audio} | {part:g} | {impl} | {row.cpu:.5f} "
                    f"| {' '.join(f'{c:.5f}' for c in row.cpu_runs)} "
                    f"| {fmt(row.steady, '.5f')} | {row.wall:.2f} | {fmt(row.py_mib, '.1f')} "
                    f"| {fmt(row.rss_mib, '.1f')} | {row.parts:g} | {row.part_seconds:.2f} | {_offsets(sync)} | |"
                )
            ours, builtin = rows["ours"], rows["built-in"]
            cpu_ratio = ours.cpu / builtin.cpu if builtin.cpu > 0 else float("inf")
            # A ratio only counts when both workers remuxed the whole input without unexpected errors.
            sound = all(
                run.parts > 0 and run.ended and not run.problems
                for impl in IMPLEMENTATIONS
                for run in results[(codec, audio, part, impl)]
            )
            if not sound:
                verdict = "INVALID"
            elif target is None:
                verdict = "no target"
            else:
                verdict = "PASS" if cpu_ratio <= target else "FAIL"
            verdicts.append(verdict)
            lines.append(
                f"| {codec} | {audio} | {part:g} | **ours/built-in** | **{cpu_ratio:.2f}x** | "
                f"| {ratio(ours.steady, builtin.steady)} | {ratio(ours.wall, builtin.wall)} "
                f"| {ratio(ours.py_mib, builtin.py_mib)} | {ratio(ours.rss_mib, builtin.rss_mib)} "
                f"| {ratio(ours.parts, builtin.parts)} | | "
                f"| **{verdict}**{f' (<= {target}x)' if target is not None else ''} |"
            )
    overall = "INVALID" if "INVALID" in verdicts else "FAIL" if "FAIL" in verdicts else "PASS"
    return "\n".join(lines), overall, all_rows


def transcode_cost(config: Config, rows: dict[Key, Row]) -> list[str]:
    """Ours on each G.711/Opus input against ours on the same video without audio in the same container ("none"):
    what transcoding adds, per media second and as a share of the video's remux (issue 16 req. 3)."""
    transcoded = [audio for audio in config.audios if audio not in ("aac", "none")]
    if "none" not in config.audios or not transcoded:
        return []
    lines = [
        "",
        "Transcoding cost (ours): CPU s / media s on the input minus on the same video without audio (Matroska both)",
        "",
        *table_head("| codec | audio | part s | ours CPU s / media s | ours, no audio | added | added / remux |"),
    ]
    for codec in config.codecs:
        for audio in transcoded:
            for part in config.parts:
                cost = rows[(codec, audio, part, "ours")].cpu
                base = rows[(codec, "none", part, "ours")].cpu
                lines.append(
                    f"| {codec} | {audio} | {part:g} | {cost:.5f} | {base:.5f} | {cost - base:+.5f} "
                    f"| {(cost - base) / base:+.0%} |"
                )
    return lines


def _sanity(codec: str, part: float, impl: str, *, row: Row, runs: list[RunResult], duration: int) -> list[str]:
    where = f"{codec} part {part:g} {impl}"
    warnings: list[str] = []
    if any(run.parts == 0 for run in runs):
        warnings.append(f"{where}: a run produced no parts")
    if not all(run.ended for run in runs):
        warnings.append(f"{where}: a run never reported end of stream")
    if impl == "ours" and abs(row.part_seconds - duration) > 0.25:
        warnings.append(f"{where}: parts cover {row.part_seconds:.2f} s of a {duration} s input")
    if impl == "built-in" and row.part_seconds < duration - 2 * part - 0.5:
        warnings.append(f"{where}: parts cover only {row.part_seconds:.2f} s of a {duration} s input")
    # About one part per part target of media; far fewer means parts went missing.
    if row.parts < duration / part * 0.8:
        warnings.append(f"{where}: {row.parts:g} parts is fewer than expected for {duration} s / {part:g} s")
    return warnings


def report(
    config: Config,
    argv: Sequence[str],
    table: str,
    *,
    overall: str,
    warnings: list[str],
    machine: Machine,
    extra: Sequence[str] = (),
) -> str:
    specs = [config.spec(codec, audio) for codec, audio in config.inputs()]
    targets = ", ".join(
        f"{audio} <= {AUDIO_INPUTS[audio].cpu_target}x"
        for audio in config.audios
        if AUDIO_INPUTS[audio].cpu_target is not None
    )
    lines = [
        *head("Remux benchmark", "remux", argv),
        f"Inputs: {'; '.join(spec.describe() for spec in specs)}  ",
        f"Runs: {config.repeat} per implementation, interleaved, medians; segment target {SEGMENT_DURATION:g} s; "
        f"source {'served in real time by ffmpeg -re over TCP' if config.live else 'file read at full speed'}  ",
        machine.line(),
        "",
        table,
        *extra,
        "",
        f"Target CPU ours/built-in ({targets}): **{overall}**"
        + (" (a worker failed: see the warnings)" if overall == "INVALID" else ""),
        "",
        "The built-in drops G.711 and Opus audio (it muxes AAC and MP3 only): on those inputs it remuxes the video"
        " alone, while ours transcodes the audio to AAC. A/V offset: audio minus video in ours' output (one extra"
        " run per input, its parts written to a file), from the inputs' sync marker (a 1 kHz burst each second"
        " starting with a white strip), median / largest magnitude over the run, with the bursts paired.",
        "",
        "peak Py MiB is tracemalloc (Python allocations only; FFmpeg's buffers, where the built-in muxes, are not"
        " counted); peak RSS +MiB is resident-set growth over one untraced run in a fresh process. Both from one"
        " run per implementation in its own subprocess.",
        *warnings_section(warnings),
    ]
    return "\n".join(lines) + "\n"


# -- command line ------------------------------------------------------------------------------------------------------


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, help="input length in seconds (default 60; 10 with --quick)")
    parser.add_argument("--repeat", type=int, help="measured runs per implementation (default 3; 1 with --quick)")
    parser.add_argument("--codec", default=",".join(CODECS), help="comma-separated: h264,hevc (default both)")
    parser.add_argument("--part", default="1.0,0.5", help="comma-separated part targets in seconds (default 1.0,0.5)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 s input, 1 repeat")
    parser.add_argument(
        "--audio-pes",
        choices=("frame", "packed"),
        default="frame",
        help="ADTS frames per MPEG-TS PES: one each (default) or FFmpeg's default packing",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="serve the input in real time (ffmpeg -re over loopback TCP) instead of reading the file at full speed;"
        " each run then lasts --duration seconds (memory passes still read the file)",
    )
    parser.add_argument(
        "--audio",
        default=",".join(AUDIO_INPUTS),
        help="comma-separated camera audio: aac (MPEG-TS, passed through), pcmu (G.711 8 kHz), opus (Matroska,"
        " transcoded by ours, dropped by the built-in), none (the video alone, Matroska); default all",
    )
    parser.add_argument("--no-sync", action="store_true", help="skip the A/V offset runs")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--memory-probe", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    codecs = [codec for codec in args.codec.split(",") if codec]
    if unknown := set(codecs) - set(CODECS):
        parser.error(f"unknown codec(s): {', '.join(sorted(unknown))}")
    args.codecs = codecs
    args.audios = [audio for audio in args.audio.split(",") if audio]
    if unknown := set(args.audios) - set(AUDIO_INPUTS):
        parser.error(f"unknown audio: {', '.join(sorted(unknown))}")
    args.parts = [float(part) for part in args.part.split(",") if part]
    args.duration = args.duration or (10 if args.quick else 60)
    args.repeat = args.repeat or (1 if args.quick else 3)
    return args


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    setup_logging()
    if args.memory_probe:
        values = asyncio.run(memory_probe(args.memory_probe, args.source, args.parts[0], args.duration))
        emit(MEMORY_MARKER, {"event": "memory", **values})
        return 0

    config = Config(
        args.duration,
        args.repeat,
        args.codecs,
        args.parts,
        not args.no_memory,
        args.audio_pes,
        live=args.live,
        audios=args.audios,
        sync=not args.no_sync,
    )
    inputs = {key: ensure_input(config.spec(*key)) for key in config.inputs()}
    machine = Machine()
    print(f"CPU pass: {config.repeat} x {len(inputs)} inputs x {len(config.parts)} part targets x 2", flush=True)
    results, warnings = asyncio.run(cpu_pass(config, inputs))
    offsets: dict[InputKey, av_sync.Measurement] = {}
    if config.sync:
        print("A/V offset pass (one run of ours per input, output decoded):", flush=True)
        offsets, sync_warnings = asyncio.run(sync_pass(config, inputs))
        warnings += sync_warnings
    memory: dict[Key, dict[str, float | None]] = {}
    if config.memory:
        print("Memory pass (one fresh process per implementation):", flush=True)
        for codec, audio in config.inputs():
            for part in config.parts:
                for impl in IMPLEMENTATIONS:
                    memory[(codec, audio, part, impl)] = run_memory_subprocess(
                        impl, f"{codec}+{audio}", inputs[(codec, audio)], part, config.duration
                    )
    table, overall, rows = summarize(config, results, memory, offsets, warnings)
    text = report(
        config, argv, table, overall=overall, warnings=warnings, machine=machine, extra=transcode_cost(config, rows)
    )
    publish("remux", text, ("-quick", args.quick), ("-live", args.live), ("-packed", args.audio_pes == "packed"))
    return 0 if overall == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
