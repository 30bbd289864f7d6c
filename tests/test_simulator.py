"""The RTSP camera simulator: its pure parts (timecode, pattern, specs, pipelines) and the real server read by PyAV."""

from __future__ import annotations

import dataclasses
import itertools
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import av
import av.container
import numpy as np
import pytest

from tests.av_sync import measure
from tests.plugins.simulator import STANDARD_MOUNTS, CameraSimulatorFactory
from tests.simulator import (
    CameraSimulator,
    CameraSpec,
    SimulatorError,
    decode_timecode,
    encode_timecode,
    timecode_age_ms,
    wall_clock_ms,
)
from tests.simulator.feeder import SyncTimeline
from tests.simulator.marker import THRESHOLD_LUMA, TONE_SECONDS, marker_level
from tests.simulator.pattern import TestPattern
from tests.simulator.pipeline import AUDIO_SOURCE_NAME, launch_description
from tests.simulator.process import PROJECT_DIR
from tests.simulator.spec import format_spec, parse_spec
from tests.simulator.timecode import band_height
from tests.simulator.urls import camera_url

OPEN_OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "300000"}
OPEN_TIMEOUT = (15.0, 5.0)  # (open, read) seconds: a broken server fails the test instead of hanging it
SAMPLE_SECONDS = 2.0
PACE_WARMUP_SECONDS = 0.5  # packets buffered while the stream was probed arrive in a burst at first
KEYFRAME_MARGIN_SECONDS = 2.0
MAX_TIMECODE_AGE_MS = 2000
SMALL = CameraSpec(profile="constrained-baseline", width=320, height=240, fps=15, bitrate=200)

VIDEO_CODEC_NAMES = {"h264": "h264", "h265": "hevc"}
AUDIO_CODEC_NAMES = {"aac": "aac", "pcmu": "pcm_mulaw", "pcma": "pcm_alaw", "opus": "opus"}
H264_PROFILE_NAMES = {"constrained-baseline": "Constrained Baseline", "main": "Main", "high": "High"}


def open_camera(url: str) -> av.container.InputContainer:
    return av.open(url, options=OPEN_OPTIONS, timeout=OPEN_TIMEOUT)


# --- timecode, pattern, specs, pipelines (no server) ---


@pytest.mark.parametrize(("width", "height"), [(640, 360), (320, 240), (1920, 1080), (650, 98), (64, 64)])
@pytest.mark.parametrize("ms", [0, 1, 0xA5A5A5A5, 2**32 - 1])
def test_timecode_round_trip(width: int, height: int, ms: int) -> None:
    luma = np.full((height, width), 128, dtype=np.uint8)
    encode_timecode(luma, ms)
    assert decode_timecode(luma) == ms
    assert (luma[band_height(height) :] == 128).all(), "the timecode stays inside its band"


def test_timecode_layout_matches_the_documented_cells() -> None:
    width, height = 650, 360
    luma = np.zeros((height, width), dtype=np.uint8)
    encode_timecode(luma, 0b1011 << 28)
    band = max(16, height // 24)
    cell = [(i * width // 32, (i + 1) * width // 32) for i in range(32)]
    assert (luma[:band, cell[0][0] : cell[0][1]] == 235).all()
    assert (luma[:band, cell[1][0] : cell[1][1]] == 16).all()
    assert (luma[:band, cell[2][0] : cell[3][1]] == 235).all()
    assert (luma[:band, cell[4][0] :] == 16).all()
    assert (luma[band:] == 0).all()


def test_timecode_survives_compression_like_noise() -> None:
    rng = np.random.default_rng(7)
    luma = np.full((360, 640), 128, dtype=np.uint8)
    ms = wall_clock_ms()
    encode_timecode(luma, ms)
    noisy = np.clip(luma.astype(np.int16) + rng.integers(-40, 41, luma.shape), 0, 255).astype(np.uint8)
    assert decode_timecode(noisy) == ms


def test_timecode_age_handles_the_wrap() -> None:
    assert timecode_age_ms(2**32 - 10, now_ms=5) == 15
    assert timecode_age_ms(100, now_ms=40) == -60
    assert 0 <= timecode_age_ms(wall_clock_ms()) < 1000


def test_pattern_frames_carry_their_timecode_and_move() -> None:
    width, height = 640, 360
    pattern = TestPattern(width, height, fps=30)
    first = np.frombuffer(pattern.render(0, 1234), dtype=np.uint8)
    second = np.frombuffer(pattern.render(1, 5678), dtype=np.uint8)
    assert first.size == second.size == width * height * 3 // 2
    assert decode_timecode(first[: width * height].reshape(height, width)) == 1234
    assert decode_timecode(second[: width * height].reshape(height, width)) == 5678
    below_band = slice(band_height(height) * width, width * height)
    assert not np.array_equal(first[below_band], second[below_band]), "the picture moves between frames"


@pytest.mark.parametrize(
    "spec",
    [
        CameraSpec(),
        CameraSpec(video="h265", bframes=1, audio="opus", width=1280, height=720, fps=25, keyframe_interval=2.5),
        CameraSpec(profile="constrained-baseline", audio="pcma", bitrate=123),
        CameraSpec(audio="opus", sync=True),
    ],
)
def test_spec_text_round_trip(spec: CameraSpec) -> None:
    assert parse_spec(format_spec(spec)) == spec


def test_spec_text_reads_what_humans_write() -> None:
    spec = parse_spec("video=H265, audio=none, keyframe-interval=0.5, fps=10")
    assert spec == CameraSpec(video="h265", audio=None, keyframe_interval=0.5, fps=10)
    assert spec.keyframe_interval_frames == 5
    assert parse_spec("audio=pcmu,sync=1") == CameraSpec(audio="pcmu", sync=True)
    assert format_spec(CameraSpec(sync=True)) == "sync=1"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("colour=red", "key=value"),
        ("width=wide", "width must be a whole number"),
        ("width=641", "width must be even"),
        ("video=vp8", "video must be one of"),
        ("profile=constrained-baseline,bframes=2", "no B-frames"),
        ("keyframe_interval=0", "keyframe_interval"),
        ("sync=maybe", "sync must be 1 or 0"),
    ],
)
def test_spec_text_refuses_nonsense(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_spec(text)


@pytest.mark.parametrize("mount", list(STANDARD_MOUNTS))
def test_launch_descriptions_build_pipelines(mount: str) -> None:
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    pipeline = Gst.parse_launch(launch_description(f"/{mount}", STANDARD_MOUNTS[mount]))
    payloaders = [pipeline.get_by_name(f"pay{index}") for index in range(2)]
    assert payloaders[0] is not None
    assert (payloaders[1] is not None) == (STANDARD_MOUNTS[mount].audio is not None)


@pytest.mark.parametrize("audio", [None, "aac", "pcmu", "pcma", "opus"])
def test_sync_launch_descriptions_take_the_feeders_audio(audio: str | None) -> None:
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    spec = CameraSpec(audio=audio, sync=True)  # type: ignore[arg-type]
    pipeline = Gst.parse_launch(launch_description("/sync", spec))
    assert (pipeline.get_by_name(AUDIO_SOURCE_NAME) is not None) == (audio is not None)
    assert (pipeline.get_by_name("pay1") is not None) == (audio is not None)


def test_pattern_draws_the_marker_strip_only_when_asked() -> None:
    width, height = 320, 240
    pattern = TestPattern(width, height, fps=15)

    def luma(marker: bool | None) -> np.ndarray:
        frame = np.frombuffer(pattern.render(3, 4242, marker), dtype=np.uint8)
        return frame[: width * height].reshape(height, width)

    assert marker_level(luma(True)) > THRESHOLD_LUMA > marker_level(luma(False))
    assert marker_level(luma(None)) != marker_level(luma(False)), "no strip without the sync marker"
    assert decode_timecode(luma(True)) == decode_timecode(luma(False)) == 4242


def test_sync_timeline_marks_the_first_frame_of_each_second_and_its_audio() -> None:
    fps, rate = 30, 8000
    timeline = SyncTimeline(fps, rate, origin_ns=5_000_000_000, origin_index=7)
    pushed = [*range(0, 31), *range(62, 95)]  # frames 31..61 skipped (a starved feeder): frame 62 takes the marker
    marked = [frame for frame in pushed if timeline.marker(frame)]
    assert marked == [0, 30, 62, 90]
    assert timeline.frame_pts(30) == 6_000_000_000
    assert timeline.frame_pts(90) == 8_000_000_000

    timeline = SyncTimeline(fps, rate, origin_ns=0, origin_index=0)
    pieces: list[np.ndarray] = []
    for frame in pushed:
        timeline.marker(frame)
        start, samples = timeline.samples_until(frame)
        assert start == sum(piece.size for piece in pieces), "each push continues where the last ended"
        pieces.append(np.frombuffer(samples, dtype=np.int16))
    audio = np.concatenate(pieces)
    assert audio.size == 95 * rate // fps, "skipped frames keep their audio: no gap"
    loud = np.flatnonzero(np.abs(audio) > 1000)
    starts = [int(loud[0])] + [int(index) for before, index in itertools.pairwise(loud) if index - before > rate // 2]
    # Bursts start with their marker frame, to the sample (the sine's first sample is zero), and last TONE_SECONDS.
    assert starts == [frame * rate // fps + 1 for frame in marked]
    for start in starts:  # whole bursts, also the one whose end was due during the skipped frames
        burst = loud[(loud >= start) & (loud < start + rate // 2)]
        assert burst[-1] - burst[0] == pytest.approx(TONE_SECONDS * rate, abs=2)


def test_sync_timeline_stamps_audio_early_by_the_encoder_delay() -> None:
    timeline = SyncTimeline(30, 48000, origin_ns=1_000_000_000, origin_index=0, lead=1024)
    assert timeline.sample_pts(48000) == pytest.approx(2_000_000_000 - 1024 * 1_000_000_000 / 48000, abs=1)
    assert timeline.frame_pts(30) == 2_000_000_000


def test_command_line_help_and_errors() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "tests.simulator", *args]
        return subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30, check=False)

    help_run = run("--help")
    assert help_run.returncode == 0
    assert "--mount NAME:KEY=VALUE" in help_run.stdout
    bad_run = run("--mount", "demo:width=odd")
    assert bad_run.returncode == 2
    assert "width must be a whole number" in bad_run.stderr


# --- the real server ---


@dataclass(frozen=True)
class DecodedFrame:
    received_ms: int  # wall clock in the timecode's unit when the decoder gave the frame
    timecode: int
    picture_type: int  # an av.video.frame.PictureType value


@dataclass
class StreamSample:
    """What a client saw in the first seconds of a mount."""

    video_codec: str
    audio_codec: str | None
    video_profile: str | None = None  # as the decoder reports it, from the SPS it decoded
    size: tuple[int, int] = (0, 0)
    seconds_to_first_keyframe: float = 0.0
    video_packets: list[tuple[float, float]] = dataclasses.field(default_factory=list)  # (received, pts) seconds
    audio_packets: int = 0
    frames: list[DecodedFrame] = dataclasses.field(default_factory=list)


def sample_stream(url: str, seconds: float) -> StreamSample:
    """Open `url`, then demux (and decode the video) for `seconds` from the first keyframe."""
    opened_at = time.monotonic()
    with open_camera(url) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        sample = StreamSample(
            video_codec=video.codec_context.name, audio_codec=audio.codec_context.name if audio else None
        )
        first_keyframe_at: float | None = None
        for packet in container.demux():
            received = time.monotonic()
            if audio is not None and packet.stream.index == audio.index:
                sample.audio_packets += 1
                continue
            if packet.stream.index != video.index or packet.pts is None:
                continue
            if first_keyframe_at is None:
                if not packet.is_keyframe:
                    continue  # decoding starts at a keyframe
                first_keyframe_at = received
                sample.seconds_to_first_keyframe = received - opened_at
            sample.video_packets.append((received, float(packet.pts * video.time_base)))
            for frame in video.codec_context.decode(packet):
                luma = frame.to_ndarray(format="gray")
                sample.frames.append(DecodedFrame(wall_clock_ms(), decode_timecode(luma), frame.pict_type))
            if received - first_keyframe_at >= seconds:
                break
        sample.video_profile = video.codec_context.profile
        sample.size = (video.codec_context.width, video.codec_context.height)
        return sample


@pytest.fixture(scope="module")
def standard_samples(camera_simulator: CameraSimulator) -> Mapping[str, StreamSample | Exception]:
    """Every standard mount sampled at once (so the module stays quick); a mount that failed keeps its error."""

    def sample(mount: str) -> StreamSample | Exception:
        try:
            return sample_stream(camera_simulator.url(mount), SAMPLE_SECONDS)
        except Exception as error:  # reported by the mount's own test
            return error

    with ThreadPoolExecutor(max_workers=len(STANDARD_MOUNTS)) as pool:
        return dict(zip(STANDARD_MOUNTS, pool.map(sample, STANDARD_MOUNTS), strict=True))


def sample_of(samples: Mapping[str, StreamSample | Exception], mount: str) -> StreamSample:
    sample = samples[mount]
    if isinstance(sample, Exception):
        raise sample
    return sample


@pytest.mark.e2e
@pytest.mark.parametrize("mount", list(STANDARD_MOUNTS))
def test_standard_mount_streams_its_codecs(
    standard_samples: Mapping[str, StreamSample | Exception], mount: str
) -> None:
    spec = STANDARD_MOUNTS[mount]
    sample = sample_of(standard_samples, mount)
    assert sample.video_codec == VIDEO_CODEC_NAMES[spec.video]
    if spec.video == "h264":
        assert sample.video_profile == H264_PROFILE_NAMES[spec.profile]
    assert sample.size == (spec.width, spec.height)
    assert sample.audio_codec == (AUDIO_CODEC_NAMES[spec.audio] if spec.audio else None)
    if spec.audio:
        assert sample.audio_packets > 0
    has_b_frames = any(frame.picture_type == av.video.frame.PictureType.B for frame in sample.frames)
    assert has_b_frames == (spec.bframes > 0)


@pytest.mark.e2e
@pytest.mark.parametrize("mount", list(STANDARD_MOUNTS))
def test_standard_mount_is_live(standard_samples: Mapping[str, StreamSample | Exception], mount: str) -> None:
    spec = STANDARD_MOUNTS[mount]
    sample = sample_of(standard_samples, mount)
    assert sample.seconds_to_first_keyframe <= spec.keyframe_interval + KEYFRAME_MARGIN_SECONDS
    # Real-time pace: past the burst of probed packets, media time advances as fast as the wall clock.
    start = sample.video_packets[0][0] + PACE_WARMUP_SECONDS
    window = [packet for packet in sample.video_packets if packet[0] >= start]
    wall_span = window[-1][0] - window[0][0]
    media_span = max(pts for _, pts in window) - min(pts for _, pts in window)
    assert wall_span > 1.0
    assert 0.8 < media_span / wall_span < 1.25, f"{media_span:.2f} s of media in {wall_span:.2f} s"


@pytest.mark.e2e
@pytest.mark.parametrize("mount", list(STANDARD_MOUNTS))
def test_standard_mount_frames_carry_capture_time(
    standard_samples: Mapping[str, StreamSample | Exception], mount: str
) -> None:
    spec = STANDARD_MOUNTS[mount]
    frames = sample_of(standard_samples, mount).frames
    assert len(frames) >= spec.fps, "at least a second of decoded frames"
    ages = [timecode_age_ms(frame.timecode, frame.received_ms) for frame in frames]
    assert all(0 <= age < MAX_TIMECODE_AGE_MS for age in ages), ages
    steps = [timecode_age_ms(earlier.timecode, now_ms=later.timecode) for earlier, later in itertools.pairwise(frames)]
    period_ms = 1000 / spec.fps
    assert 0.5 * period_ms < statistics.median(steps) < 1.5 * period_ms, "one capture time per frame"


@pytest.mark.e2e
def test_credentials_are_required(make_camera_simulator: CameraSimulatorFactory) -> None:
    simulator = make_camera_simulator({"private": SMALL}, username="camera user", password="p@ss:w/rd")
    assert simulator.url("private").startswith("rtsp://camera%20user:p%40ss%3Aw%2Frd@127.0.0.1:")
    with pytest.raises(av.error.HTTPUnauthorizedError):
        open_camera(simulator.url("private", credentials=False))
    with pytest.raises(av.error.HTTPUnauthorizedError):
        open_camera(camera_url(simulator.port, "private", username="camera user", password="wrong"))
    with open_camera(simulator.url("private")) as container:
        assert next(container.demux(video=0)).size > 0


def read_to_end(packets: Iterator[av.Packet[Any]], limit: int = 500) -> None:
    """Demux until the stream ends, by end of file or a reset connection; fail if it goes on or stalls."""
    try:
        for count, _ in enumerate(packets):
            assert count < limit, "the stream goes on"
    except av.error.ExitError:
        raise  # the read timeout: the stream stalled instead of ending
    except av.FFmpegError:
        pass


@pytest.mark.e2e
def test_stop_ends_the_stream_and_restart_brings_it_back(make_camera_simulator: CameraSimulatorFactory) -> None:
    simulator = make_camera_simulator({"cam": SMALL})
    port = simulator.port
    with open_camera(simulator.url("cam")) as container:
        packets = container.demux(video=0)
        assert next(packets).size > 0
        simulator.stop()
        assert simulator.exit_status == 0, simulator.log
        read_to_end(packets)
    with pytest.raises(ConnectionRefusedError):
        open_camera(simulator.url("cam"))
    simulator.restart()
    assert simulator.port == port
    with open_camera(simulator.url("cam")) as container:
        assert next(container.demux(video=0)).size > 0


@pytest.mark.e2e
def test_clients_of_a_mount_share_one_encoder(make_camera_simulator: CameraSimulatorFactory) -> None:
    simulator = make_camera_simulator({"cam": SMALL})
    with open_camera(simulator.url("cam")) as first:
        first_reader = TimecodeReader(first)
        first_codes = first_reader.read(5)
        with open_camera(simulator.url("cam")) as second:
            second_codes = TimecodeReader(second).read(10)
        while timecode_age_ms(first_codes[-1], now_ms=max(second_codes)) > 0:
            more = first_reader.read(1)
            assert more, "the first client's stream ended"
            first_codes += more
    seen_by_both = set(second_codes) & set(first_codes)
    assert len(seen_by_both) >= 0.8 * len(second_codes), (first_codes, second_codes)


SYNC_SECONDS = 4.0
SYNC_AT_SOURCE_MS = 1.0  # bursts start with their frames to the sample; sines and codecs blur that by under a ms


@pytest.mark.e2e
def test_sync_marker_is_aligned_at_the_source(make_camera_simulator: CameraSimulatorFactory) -> None:
    mounts = {codec: dataclasses.replace(SMALL, audio=codec, sync=True) for codec in AUDIO_CODEC_NAMES}  # type: ignore[arg-type]
    simulator = make_camera_simulator(mounts)
    with ThreadPoolExecutor(max_workers=len(mounts)) as pool:
        measured = dict(
            zip(mounts, pool.map(lambda mount: measure(simulator.url(mount), SYNC_SECONDS), mounts), strict=True)
        )
    for codec, measurement in measured.items():
        assert measurement.audio_codec == AUDIO_CODEC_NAMES[codec]
        assert len(measurement.pairs) >= SYNC_SECONDS - 1, (codec, measurement)
        assert all(abs(offset) <= SYNC_AT_SOURCE_MS for offset in measurement.offsets_ms), (codec, measurement)
        steps = [later - earlier for earlier, later in itertools.pairwise(measurement.markers)]
        assert steps == pytest.approx([1.0] * len(steps), abs=0.001), "a marker each second of media"
    with open_camera(simulator.url("pcmu")) as container:  # the timecode band still works beside the strip
        codes = TimecodeReader(container).read(10)
    assert all(0 <= timecode_age_ms(code) < MAX_TIMECODE_AGE_MS for code in codes), codes


class TimecodeReader:
    """Decodes a container's video from its first keyframe and yields the frames' timecodes."""

    def __init__(self, container: av.container.InputContainer) -> None:
        self._stream = container.streams.video[0]
        self._packets = container.demux(self._stream)
        self._started = False

    def read(self, count: int) -> list[int]:
        codes: list[int] = []
        for packet in self._packets:
            self._started = self._started or packet.is_keyframe
            if not self._started:
                continue
            codes += (decode_timecode(frame.to_ndarray(format="gray")) for frame in packet.decode())
            if len(codes) >= count:
                break
        return codes


@pytest.mark.e2e
def test_port_taken_fails_with_the_reason(socket_enabled: None, make_camera_simulator: CameraSimulatorFactory) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SimulatorError, match=f"127.0.0.1:{port}.*Address already in use"):
            make_camera_simulator({"cam": SMALL}, port=port)


@pytest.mark.e2e
def test_ready_line_on_stdout() -> None:
    command = [sys.executable, "-m", "tests.simulator", "--mount", "demo:video=h264", "--exit-with-stdin"]
    with subprocess.Popen(command, cwd=PROJECT_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        ready = json.loads(child.stdout.readline())
        child.terminate()
        assert child.wait(10) == 0
    assert ready["event"] == "ready"
    assert ready["mounts"] == ["/demo"]
    assert ready["urls"] == [f"rtsp://127.0.0.1:{ready['port']}/demo"]
