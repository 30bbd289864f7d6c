"""WebRTC benchmark: sender CPU per viewer, offer-to-answer time and the latency our side adds, in Home Assistant.

The camera (default) is a pre-encoded file: H.264 High 1920x1080 30 fps, 4000 kbit/s (maxrate = bufsize), no
B-frames, a keyframe every second, no audio, generated once with the ffmpeg CLI (bench/.cache/) and served in real
time, looped, by `ffmpeg -re` as MPEG-TS over loopback TCP (bench/common/cameras.py's `paced_source`), whose CPU is
shown and not counted. Not the RTSP simulator by default: its x264 (ultrafast) encodes the test pattern at about 2.1
Mbit/s whatever bitrate is asked, half the required ~4 Mbit/s (and the per-viewer cost is per RTP packet), and its
encoder takes a quarter of a core of this 2-core machine; `--source simulator` still runs on it (RTSP over TCP).

Home Assistant (this process) runs our `stream` with Home Assistant's own `ffmpeg` camera platform on that source,
its HTTP server on a loopback port, and the bench holds the camera's stream open (an HLS output held awake), so the
worker runs and remuxes throughout: the 0-viewer figure is that worker alone. The viewers are aiortc client peers
(tests/webrtc_client.py: the frontend's websocket flow, one websocket connection each), one per child process by
default (`--viewers-per-process`), as separate browsers are: their CPU is not ours, and one Python process serving
16 peers delays its own reads (measured: p95 ~120 ms more at 16 viewers, with UDP receive-buffer drops unless its
sockets get 4 MiB). They do not decode (aiortc's decoder is replaced by one that drops the frame); they count RTP
packets and note when the last packet (marker bit) of every frame reaches aiortc's receiver. ICE runs on 127.0.0.1
only (aioice never offers loopback host candidates; every process patches that, as the tests' `loopback_ice` does).

Measured, `--repeat` times (viewer counts ascending, then descending, alternately) after an unmeasured warm-up:

- Sender CPU: CPU time of this whole process (worker thread, event loop with the aiortc senders, everything else of
  Home Assistant) over a `--window` of wall time with 0, 1, 4 and 16 viewers connected and receiving, as % of one
  core; split into the event loop thread, the worker thread and the rest (from /proc/self/task). The cost per added
  viewer is the least-squares slope over the medians at 1, 4 and 16 viewers. Target: <= 1 % of a core per viewer.
- Offer to answer: from sending `camera/webrtc/offer` to the answer event (the client trickles its candidates in
  between, as the frontend does), `--offers` sequential offers on the warm stream (source open, no other viewer),
  each on a new websocket connection, each session waiting for its first frame and then closed. Once with no ICE
  server (host candidates only; Home Assistant's default STUN server, stun.home-assistant.io, cannot be reached from
  the sandbox, so the bench empties the camera's ICE server list), once with one unreachable STUN server configured
  the way a user does (core config `webrtc: ice_servers:`): a local UDP socket that never answers and counts the
  STUN binding requests it gets, so the figure is known to include a real STUN wait. Targets (median):
  host <= 150 ms, unreachable STUN <= 1 s.
- Added latency: for every frame, from the worker handing it to the live feed (`LiveFeed.video`, wrapped by the bench
  in this process only) to the client peer receiving its last RTP packet (one machine: one monotonic clock). Frames
  are matched by identity: a session's RTP timestamps are our pts plus an offset of its own, known from the first
  frame its sender sent (noted here) and the first RTP timestamp the client got. Pooled over the viewers and runs
  of a viewer count; median, p95, max. Also "worker -> sent", to when the session's sender had sent the frame (our
  side alone; on loopback the client's socket has it then). Target: p95 <= 100 ms with 1 and with 16 viewers.
- A profile (cProfile with a CPU clock, every thread, in a separate unmeasured 16-viewer window) says where the
  per-viewer CPU goes.

There is no WebRTC in Home Assistant's built-in `stream` integration, so there is nothing to compare with: the
figures are absolute, with the machine's load average. A window is INVALID when the camera fell below 95 % of its
frame rate, a viewer got under 90 % of the frames, or over 2 % of the received frames matched no worker frame; a
latency figure with too few samples (300; 100 with --quick) is INVALID; the STUN phase is INVALID if no STUN request
reached the silent server. The exit status is 1 on FAIL or INVALID.

`--codec h265` serves an H.265 Main file of the same size, rate and bitrate instead (x265 ultrafast, 20 s looped;
our side runs with `webrtc_h265: true`, the client peers offer H.265): compare its per-viewer CPU with the H.264 run's
(issue 17's target: at most 10 % more).

Run (the report is also written to bench/results/webrtc-<date>[-quick][-simulator][-h265].md):

    scripts/sandbox --private-net python bench/webrtc.py            # 3 x 20 s windows per count, 20 offers each: ~7 min
    scripts/sandbox --private-net python bench/webrtc.py --quick    # 1 x 5 s windows, 5 offers: smoke run, ~1.5 min
    scripts/sandbox --private-net python bench/webrtc.py --viewers 0,1,4,16,24 --repeat 5 --no-profile
    scripts/sandbox --private-net python bench/webrtc.py --quick --source simulator
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import math
import os
import pstats
import statistics
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if (_PROJECT := str(Path(__file__).resolve().parents[1])) not in sys.path:
    sys.path.insert(0, _PROJECT)  # run as a script: our `custom_components`, not pytest-homeassistant's empty one

import aiohttp
import aioice.ice

from bench.common.cameras import encoded_file, paced_source, parse_size, simulator, wait_until_serving
from bench.common.hass import admin_token, camera_entity, ffmpeg_camera, home_assistant, websocket_url
from bench.common.logs import LogCapture, setup_logging
from bench.common.proc import child_pid, process_cpu, thread_cpu, udp_errors
from bench.common.processes import ChildProcess, commands, emit
from bench.common.report import Machine, fmt, head, load_average, publish, table_head, warnings_section
from bench.common.stats import median, percentile_or_none, slope
from tests.simulator import CameraSpec
from tests.webrtc_client import WebRtcClient

SCRIPT = Path(__file__).resolve()

# -- what is measured, and against what ----------------------------------------------------------------------------

CAMERA_FPS = 30
CAMERA_BITRATE_KBIT = 4000
KEYFRAME_INTERVAL_S = 1.0
DEFAULT_SIZE = "1920x1080"
FILE_SECONDS = 60  # the pre-encoded camera file, served in a loop
MOUNT = "camera"
SOURCES = ("file", "simulator")
CODECS = ("h264", "h265")
H265_FILE_SECONDS = 20  # x265 encodes the file far slower than x264: a shorter loop
CAMERA_NAME = "webrtc_bench"

CPU_PER_VIEWER_TARGET = 1.0  # % of a core
OFFER_HOST_TARGET_MS = 150.0
OFFER_STUN_TARGET_MS = 1000.0
LATENCY_P95_TARGET_MS = 100.0
LATENCY_JUDGED_AT = (1, 16)  # viewer counts whose latency is judged (others are reported)

DEFAULT_VIEWERS = (0, 1, 4, 16)
DEFAULT_VIEWERS_PER_PROCESS = 1
DEFAULT_REPEAT, QUICK_REPEAT = 3, 1
DEFAULT_WINDOW_S, QUICK_WINDOW_S = 20.0, 5.0
DEFAULT_OFFERS, QUICK_OFFERS = 20, 5
DEFAULT_PROFILE_S, QUICK_PROFILE_S = 10.0, 3.0
SETTLE_S, QUICK_SETTLE_S = 3.0, 1.0  # after the viewer count changed, before a window
MIN_LATENCY_SAMPLES, QUICK_MIN_LATENCY_SAMPLES = 300, 100  # per judged viewer count
CAMERA_REAL_TIME_MIN = 0.95  # of the nominal frame rate, per window
VIEWER_FRAMES_MIN = 0.90  # of the frames the worker handed on in the window, per viewer
SOURCE_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 30.0
FIRST_FRAME_TIMEOUT_S = 10.0
CLIENT_REPLY_TIMEOUT_S = 300.0
PROFILE_TOP = 20

RTP_MASK = 0xFFFFFFFF
VIDEO_CLOCK_RATE = 90000
MATCH_HORIZON_S = 2.0  # a frame arriving later than this after the worker handed it on counts as unmatched
CLIENT_MARKER = "WEBRTC-CLIENT "
TOKEN_ENV = "STREAM_BENCH_WEBRTC_TOKEN"

_LOGGER = logging.getLogger("bench.webrtc")


def use_loopback_ice() -> None:
    """aioice gathers on 127.0.0.1 only (as the tests' `loopback_ice`): the private loopback has nothing else."""
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


# -- the camera --------------------------------------------------------------------------------------------------------


def camera_file(width: int, height: int, codec: str = "h264") -> Path:
    """The pre-encoded camera (generated once with the ffmpeg CLI, cached): H.264 High (or H.265 Main), no B-frames
    (a camera's, and WebRTC cannot carry them), CBR-like 4 Mbit/s, a keyframe every KEYFRAME_INTERVAL_S, in-band
    parameter sets, no audio, MPEG-TS."""
    gop = round(CAMERA_FPS * KEYFRAME_INTERVAL_S)
    rate = f"{CAMERA_BITRATE_KBIT}k"
    if codec == "h265":
        x265 = f"bframes=0:keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1:log-level=error"
        return encoded_file(
            f"h265-{width}x{height}p{CAMERA_FPS}-{CAMERA_BITRATE_KBIT}k-gop{gop}-nobframes-video-"
            f"{H265_FILE_SECONDS}s.ts",
            [
                *("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={CAMERA_FPS}"),
                *("-t", str(H265_FILE_SECONDS), "-pix_fmt", "yuv420p"),
                *("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", x265),
                *("-b:v", rate, "-maxrate", rate, "-bufsize", rate),
                *("-an", "-f", "mpegts"),
            ],
        )
    return encoded_file(
        f"h264-{width}x{height}p{CAMERA_FPS}-{CAMERA_BITRATE_KBIT}k-gop{gop}-nobframes-video-{FILE_SECONDS}s.ts",
        [
            *("-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={CAMERA_FPS}", "-t", str(FILE_SECONDS)),
            *("-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "0", "-sc_threshold", "0"),
            *("-pix_fmt", "yuv420p", "-g", str(gop), "-keyint_min", str(gop)),
            *("-b:v", rate, "-maxrate", rate, "-bufsize", rate),
            *("-an", "-f", "mpegts"),
        ],
    )


# -- client side: the viewers, in a child process ---------------------------------------------------------------------


@dataclass(slots=True)
class PacketLog:
    """What one client peer received on its video track: RTP packets of the media SSRC, frame arrivals."""

    ssrc: int | None = None
    first_ts: int | None = None  # RTP timestamp of the session's first packet: of the first frame our side sent
    frames_total: int = 0  # marker packets since the session started
    first_frame_at: float | None = None
    recording: bool = False
    frames: list[tuple[int, float]] = field(default_factory=list)  # (RTP timestamp, arrival) while recording
    packets: int = 0
    other_ssrc_packets: int = 0  # retransmissions (RTX) while recording
    _first_seq: int | None = None
    _last_seq: int = 0
    _ext_seq: int = 0

    def on_packet(self, ssrc: int, sequence_number: int, timestamp: int, marker: bool) -> None:
        now = time.monotonic()
        if self.ssrc is None:
            self.ssrc, self.first_ts = ssrc, timestamp
        if ssrc != self.ssrc:
            if self.recording:
                self.other_ssrc_packets += 1
            return
        if marker:
            self.frames_total += 1
            if self.first_frame_at is None:
                self.first_frame_at = now
        if not self.recording:
            return
        self.packets += 1
        if self._first_seq is None:
            self._first_seq = self._ext_seq = self._last_seq = sequence_number
        else:
            delta = (sequence_number - self._last_seq) & 0xFFFF
            if delta < 0x8000:  # forward (a reordered or repeated packet changes nothing)
                self._ext_seq += delta
                self._last_seq = sequence_number
        if marker:
            self.frames.append((timestamp, now))

    def start(self) -> None:
        self.frames = []
        self.packets = self.other_ssrc_packets = 0
        self._first_seq = None
        self.recording = True

    def stop(self, session_id: str | None) -> dict[str, Any]:
        self.recording = False
        expected = self._ext_seq - self._first_seq + 1 if self._first_seq is not None else 0
        return {
            "session_id": session_id,
            "first_ts": self.first_ts,
            "frames": self.frames,
            "packets": self.packets,
            "lost": max(0, expected - self.packets),
            "rtx": self.other_ssrc_packets,
        }


_PACKET_LOGS: dict[object, PacketLog] = {}


class _DroppingDecoder:
    """Stands in for aiortc's H.264 decoder in the client process: viewers here count frames, they do not look."""

    def decode(self, encoded_frame: object) -> list[object]:
        return []


def install_client_hooks() -> None:
    """Client process only: no decoding; every received RTP packet noted before aiortc handles it."""
    from aiortc import rtcrtpreceiver

    receiver_class: Any = rtcrtpreceiver.RTCRtpReceiver
    handle_rtp = receiver_class._handle_rtp_packet

    async def handle_rtp_packet(receiver: object, packet: Any, arrival_time_ms: int) -> None:
        log = _PACKET_LOGS.get(receiver)
        if log is not None:
            log.on_packet(packet.ssrc, packet.sequence_number, packet.timestamp, bool(packet.marker))
        await handle_rtp(receiver, packet, arrival_time_ms)

    receiver_class._handle_rtp_packet = handle_rtp_packet
    module: Any = rtcrtpreceiver
    module.get_decoder = lambda codec: _DroppingDecoder()


class Viewer:
    """One client peer on a websocket connection of its own."""

    def __init__(self, http: aiohttp.ClientSession, ws_url: str, token: str, entity_id: str, codec: str) -> None:
        self._http = http
        self._codec = codec
        self._ws_url = ws_url
        self._token = token
        self._entity_id = entity_id
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.client: WebRtcClient | None = None
        self.log = PacketLog()

    async def open(self) -> float:
        """Connect, authenticate, offer; the offer-to-answer time in seconds."""
        self._ws = ws = await self._http.ws_connect(self._ws_url)
        hello = await ws.receive_json()
        if hello.get("type") != "auth_required":
            raise RuntimeError(f"unexpected websocket greeting {hello}")
        await ws.send_json({"type": "auth", "access_token": self._token})
        reply = await ws.receive_json()
        if reply.get("type") != "auth_ok":
            raise RuntimeError(f"websocket authentication failed: {reply}")
        self.client = client = WebRtcClient(
            ws.send_json, ws.receive_json, self._entity_id, audio=False, video_codec=self._codec
        )
        await client.__aenter__()
        await client.offer()
        for receiver in client.pc.getReceivers():
            if receiver.track is not None and receiver.track.kind == "video":
                _PACKET_LOGS[receiver] = self.log
        return client.answer_at - client.offer_sent_at

    async def wait_for_first_frame(self, timeout: float) -> float | None:
        """Seconds from the answer to the first complete frame; None if none came in time."""
        deadline = time.monotonic() + timeout
        while self.log.first_frame_at is None and time.monotonic() < deadline:
            if self.client is not None and self.client.errors:
                raise self.client.errors[0]
            await asyncio.sleep(0.01)
        if self.log.first_frame_at is None or self.client is None:
            return None
        return self.log.first_frame_at - self.client.answer_at

    async def close(self) -> None:
        if self.client is not None:
            for receiver in self.client.pc.getReceivers():
                _PACKET_LOGS.pop(receiver, None)
            with contextlib.suppress(Exception):
                await self.client.close()
        if self._ws is not None:
            await self._ws.close()


async def client_main(ws_url: str, entity_id: str, rcvbuf: int | None, codec: str) -> None:
    """The viewers' process: JSON commands on stdin, one JSON event per command on stdout."""
    use_loopback_ice()
    if rcvbuf:
        import aioice.turn

        aioice.turn.UDP_SOCKET_BUFFER_SIZE = rcvbuf  # what aioice asks for every socket it binds
    install_client_hooks()
    token = os.environ[TOKEN_ENV]
    viewers: list[Viewer] = []
    cpu_start = 0.0
    async with aiohttp.ClientSession() as http:
        emit(CLIENT_MARKER, {"event": "ready"})
        async for command in commands():
            name = command["cmd"]
            if name == "viewers":
                errors: list[str] = []
                while len(viewers) > command["count"]:
                    await viewers.pop().close()
                added: list[Viewer] = []
                while len(viewers) < command["count"]:
                    viewer = Viewer(http, ws_url, token, entity_id, codec)
                    try:
                        await viewer.open()
                    except Exception as err:
                        errors.append(f"viewer {len(viewers) + 1}: {type(err).__name__}: {err}")
                        await viewer.close()
                        break
                    viewers.append(viewer)
                    added.append(viewer)
                for viewer in added:
                    if await viewer.wait_for_first_frame(CONNECT_TIMEOUT_S) is None:
                        errors.append("a viewer received no frame")
                emit(CLIENT_MARKER, {"event": "viewers", "count": len(viewers), "errors": errors})
            elif name == "record":
                if command["on"]:
                    for viewer in viewers:
                        viewer.log.start()
                    cpu_start = time.process_time()
                    emit(CLIENT_MARKER, {"event": "recording"})
                else:
                    cpu = time.process_time() - cpu_start
                    emit(
                        CLIENT_MARKER,
                        {
                            "event": "recorded",
                            "cpu_s": cpu,
                            "viewers": [
                                viewer.log.stop(viewer.client.session_id if viewer.client else None)
                                for viewer in viewers
                            ],
                        },
                    )
            elif name == "offers":
                answers: list[float] = []
                first_frames: list[float] = []
                errors = []
                for index in range(command["count"]):
                    viewer = Viewer(http, ws_url, token, entity_id, codec)
                    try:
                        answers.append(await viewer.open())
                        first = await viewer.wait_for_first_frame(FIRST_FRAME_TIMEOUT_S)
                        if first is None:
                            errors.append(f"offer {index + 1}: no frame within {FIRST_FRAME_TIMEOUT_S:g} s")
                        else:
                            first_frames.append(first)
                    except Exception as err:
                        errors.append(f"offer {index + 1}: {type(err).__name__}: {err}")
                    finally:
                        await viewer.close()
                    await asyncio.sleep(0.2)  # the session's teardown is not the next offer's load
                emit(
                    CLIENT_MARKER,
                    {"event": "offers", "answer_s": answers, "first_frame_s": first_frames, "errors": errors},
                )
        for viewer in viewers:
            await viewer.close()


class ClientPool:
    """`processes` viewer processes; a viewer count is spread over them evenly (offers go to the first)."""

    def __init__(self, processes: int) -> None:
        self.size = processes
        self.processes: list[ChildProcess] = []

    async def start(self, ws_url: str, token: str, entity_id: str, rcvbuf: int | None, codec: str) -> None:
        args = [str(SCRIPT), "--client", ws_url, "--entity", entity_id, "--codec", codec]
        args += ["--client-rcvbuf", str(rcvbuf)] if rcvbuf else []
        env = {**os.environ, TOKEN_ENV: token}
        launched = await asyncio.gather(
            *(
                ChildProcess.launch(
                    f"viewer process {index + 1}", args, marker=CLIENT_MARKER, ready_timeout=120.0, env=env
                )
                for index in range(self.size)
            )
        )
        self.processes = [process for process, _ in launched]

    async def _call(self, requests: Sequence[dict[str, Any]], reply: str) -> list[dict[str, Any]]:
        """`requests[i]` to process i, all at once; their replies."""
        return await asyncio.gather(
            *(
                process.request(request, reply, CLIENT_REPLY_TIMEOUT_S)
                for process, request in zip(self.processes, requests, strict=False)
            )
        )

    async def set_viewers(self, count: int) -> dict[str, Any]:
        share, extra = divmod(count, self.size)
        replies = await self._call(
            [{"cmd": "viewers", "count": share + (index < extra)} for index in range(self.size)], "viewers"
        )
        return {
            "count": sum(reply["count"] for reply in replies),
            "errors": [error for reply in replies for error in reply["errors"]],
        }

    async def offers(self, count: int) -> dict[str, Any]:
        return (await self._call([{"cmd": "offers", "count": count}], "offers"))[0]

    async def record(self, on: bool) -> dict[str, Any]:
        replies = await self._call([{"cmd": "record", "on": on}] * self.size, "recording" if on else "recorded")
        if on:
            return {}
        return {
            "cpu_s": sum(reply["cpu_s"] for reply in replies),
            "viewers": [viewer for reply in replies for viewer in reply["viewers"]],
        }

    async def stop(self) -> None:
        await asyncio.gather(*(process.close(timeout=20.0) for process in self.processes))


# -- server side: instrumentation of this process (the bench's own, monkeypatched) ------------------------------------


class ServerLog:
    """When the worker handed each frame to the live feed, and when each session's sender took it and had sent it.

    A session's RTP timestamps are our pts plus an offset of its own (a random origin, the timeline's rebase): the
    first frame the session's sender sent, as pts and as RTP timestamp, and the client's first RTP timestamp (that
    same frame's) give it, so frames are matched by identity, not by timing.
    """

    def __init__(self) -> None:
        self.worker: deque[tuple[float, int]] = deque(maxlen=20000)  # (monotonic, pts & RTP_MASK), always on
        self.worker_bytes = 0  # video bytes handed to the live feed, always counted
        self.recording = False
        self.pulls: dict[int, list[tuple[float, int]]] = {}  # viewer id -> (sender asked for a frame, pts of the last)
        self.first: dict[int, tuple[int, int]] = {}  # viewer id -> (first packet's timestamp, its pts), always on
        self._last_pts: dict[int, int] = {}

    def install(self, feed: Any) -> None:
        from custom_components.stream.outputs.live import LiveViewer
        from custom_components.stream.outputs.webrtc.rtp_video import DirectVideoSender

        video = feed.video
        worker = self.worker
        log = self

        def timed_video(pts: int, keyframe: bool, data: bytes) -> None:
            worker.append((time.monotonic(), (pts * VIDEO_CLOCK_RATE // feed._video_scale) & RTP_MASK))
            log.worker_bytes += len(data)
            video(pts, keyframe, data)

        feed.video = timed_video  # this stream's feed only

        viewer_class: Any = LiveViewer
        next_video = viewer_class.next_video

        async def timed_next_video(viewer: Any) -> Any:
            # The sender asks for the next frame right after sending the previous one: that one was sent by now.
            entered = time.monotonic()
            if log.recording and (last := log._last_pts.get(id(viewer))) is not None:
                log.pulls.setdefault(id(viewer), []).append((entered, last))
            frame = await next_video(viewer)
            if frame is not None:
                log._last_pts[id(viewer)] = frame.pts & RTP_MASK
            return frame

        viewer_class.next_video = timed_next_video

        sender_class: Any = DirectVideoSender
        send_frame = sender_class.send_frame

        def noted_send_frame(sender: Any, frame: Any) -> int:
            timestamp: int = send_frame(sender, frame)
            log.first.setdefault(id(sender._viewer), (timestamp, frame.pts & RTP_MASK))
            return timestamp

        sender_class.send_frame = noted_send_frame

    def start(self) -> None:
        self.pulls = {}
        self.recording = True

    def stop(self) -> None:
        self.recording = False


class SilentStunServer(asyncio.DatagramProtocol):
    """A STUN server that never answers: counts the binding requests it is sent."""

    def __init__(self) -> None:
        self.requests = 0
        self.datagrams = 0

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.datagrams += 1
        if len(data) >= 20 and data[:2] == b"\x00\x01" and data[4:8] == b"\x21\x12\xa4\x42":
            self.requests += 1


# -- one measured window ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Window:
    viewers: int
    run: int
    wall_s: float
    cpu_pct: float
    loop_pct: float
    worker_pct: float
    other_pct: float
    client_pct: float
    camera_pct: float | None
    camera_fps: float
    camera_kbit: float | None  # video bitrate handed to the live feed (n/a without viewers: nothing is handed on)
    frames_min_ratio: float | None  # lowest viewer's frames received / frames the worker handed on
    packets_per_viewer_s: float | None
    lost: int
    rtx: int
    udp_drops: tuple[int, int]  # UDP datagrams dropped for a full receive / send buffer, any socket
    dropped: int
    latency_ms: list[float]
    sent_ms: list[float]  # worker -> sender finished sending the frame (our side alone)
    unmatched: int
    load: str
    problems: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Matched:
    """One session's frames in a window, matched by pts."""

    total: list[float] = field(default_factory=list)  # worker -> client received the frame's last packet
    sent: list[float] = field(default_factory=list)  # worker -> our sender had sent it
    unmatched: int = 0


def match_frames(
    frames: list[tuple[int, float]],
    offset: int,
    handed_at: dict[int, float],
    sent_at: dict[int, float],
) -> Matched:
    """`offset`: the session's RTP timestamp minus our pts (mod 2^32)."""
    matched = Matched()
    for timestamp, arrived in frames:
        pts = (timestamp - offset) & RTP_MASK
        handed = handed_at.get(pts)
        if handed is None or not 0 <= arrived - handed < MATCH_HORIZON_S:
            matched.unmatched += 1
            continue
        matched.total.append(arrived - handed)
        if (sent := sent_at.get(pts)) is not None:
            matched.sent.append(sent - handed)
    return matched


# -- the benchmark --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Config:
    viewers: list[int]
    repeat: int
    window_s: float
    settle_s: float
    offers: int
    profile_s: float
    min_latency_samples: int
    width: int
    height: int
    source: str  # "file" or "simulator"
    codec: str  # "h264" or "h265" (the file only)
    client_rcvbuf: int | None  # SO_RCVBUF the client peers ask for (None: aioice's 256 KiB)
    viewers_per_process: int
    quick: bool

    def describe_camera(self) -> str:
        if self.source == "file" and self.codec == "h265":
            return (
                f"pre-encoded file (ffmpeg CLI, libx265 ultrafast): H.265 Main {self.width}x{self.height} "
                f"{CAMERA_FPS} fps, {CAMERA_BITRATE_KBIT} kbit/s (maxrate = bufsize), no B-frames, keyframe every "
                f"{KEYFRAME_INTERVAL_S:g} s, no audio, {H265_FILE_SECONDS} s looped, served in real time by ffmpeg "
                "-re as MPEG-TS over loopback TCP (its CPU is shown, not counted); webrtc_h265: true"
            )
        if self.source == "file":
            return (
                f"pre-encoded file (ffmpeg CLI, libx264 veryfast): H.264 High {self.width}x{self.height} {CAMERA_FPS}"
                f" fps, {CAMERA_BITRATE_KBIT} kbit/s (maxrate = bufsize), no B-frames, keyframe every "
                f"{KEYFRAME_INTERVAL_S:g} s, no audio, {FILE_SECONDS} s looped, served in real time by ffmpeg -re as "
                "MPEG-TS over loopback TCP (its CPU is shown, not counted)"
            )
        return (
            f"RTSP simulator (GStreamer x264enc ultrafast/zerolatency), H.264 High {self.width}x{self.height} "
            f"{CAMERA_FPS} fps, {CAMERA_BITRATE_KBIT} kbit/s asked, keyframe every {KEYFRAME_INTERVAL_S:g} s, no "
            "audio, RTSP over TCP, encoder in its own process (its CPU is shown, not counted)"
        )


@dataclass(slots=True)
class OfferResult:
    answer_ms: list[float] = field(default_factory=list)
    first_frame_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stun_requests: int | None = None


@dataclass(slots=True)
class Outcome:
    windows: list[Window] = field(default_factory=list)
    host: OfferResult = field(default_factory=OfferResult)
    stun: OfferResult = field(default_factory=OfferResult)
    profile: str = ""
    warnings: list[str] = field(default_factory=list)
    camera_note: str = ""


async def _probed(provider: Any) -> None:
    """Until our WebRTC provider's codec probes are done."""
    for _ in range(round(SOURCE_TIMEOUT_S / 0.1)):
        if not provider._learner.learning:
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"our codec probe still runs after {SOURCE_TIMEOUT_S:g} s")


class Bench:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.outcome = Outcome()
        self.log = ServerLog()
        self.client = ClientPool(max(1, math.ceil(max(config.viewers) / config.viewers_per_process)))
        self.logs = LogCapture()
        self.stream: Any = None
        self.provider: Any = None
        self.camera_pid: Callable[[], int | None] = lambda: None  # the camera's process now
        self.current_viewers = 0

    async def run(self) -> Outcome:
        config = self.config
        if config.source == "file":
            path = camera_file(config.width, config.height, config.codec)
            async with paced_source(path, "packed", loop=True) as url:
                # A new ffmpeg serves each client (the codec probe's, then the stream's): the latest one is ours.
                self.camera_pid = lambda: child_pid("ffmpeg")
                await self._with_home_assistant(f"-i {url}", serving=lambda: wait_until_serving(url))
            return self.outcome
        spec = CameraSpec(
            video="h265" if config.codec == "h265" else "h264",
            width=config.width,
            height=config.height,
            fps=CAMERA_FPS,
            bitrate=CAMERA_BITRATE_KBIT,
            keyframe_interval=KEYFRAME_INTERVAL_S,
        )
        async with simulator({MOUNT: spec}) as camera:
            pid = camera._run.process.pid if camera._run is not None else None
            self.camera_pid = lambda: pid
            await self._with_home_assistant(f"-rtsp_transport tcp -i {camera.url(MOUNT)}")
        return self.outcome

    async def _with_home_assistant(
        self, camera_input: str, serving: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        """Home Assistant with the ffmpeg camera on `camera_input` (its `input:` option), then every phase. `serving`
        waits until the camera serves a new client."""
        from homeassistant.components import camera as camera_module

        from custom_components.stream import DATA_WEBRTC
        from custom_components.stream.const import CONF_WEBRTC_H265, CONF_WEBRTC_MAX_SESSIONS, DOMAIN, HLS_PROVIDER

        use_loopback_ice()
        stream_config = {
            CONF_WEBRTC_MAX_SESSIONS: max(self.config.viewers) + 4,
            CONF_WEBRTC_H265: self.config.codec == "h265",
        }
        components = ffmpeg_camera(CAMERA_NAME, camera_input)
        async with home_assistant(stream_config=stream_config, components=components, serve_http=True) as hass:
            camera = camera_entity(hass, CAMERA_NAME)
            token = await admin_token(hass, "WebRTC bench")

            # The stream stays open throughout (an HLS output held awake): the worker runs at 0 viewers too.
            # Our codec probe opens the camera first, when it registers: the stream opens once it is done and the
            # camera serves again (a file's ffmpeg serves one client at a time), so that its first open succeeds.
            await _probed(hass.data[DOMAIN][DATA_WEBRTC])
            if serving is not None:
                await serving()
            self.stream = stream = await camera.async_create_stream()
            stream.add_provider(HLS_PROVIDER).idle_timer.hold()
            await stream.start()
            if await stream.live.wait_for_source(SOURCE_TIMEOUT_S) is None:
                raise RuntimeError("the camera's stream did not open")
            self.log.install(stream.live)
            self.provider = hass.data[DOMAIN][DATA_WEBRTC]

            # Host candidates only, except in the STUN phase (Home Assistant's default STUN server is unreachable).
            module: Any = camera_module
            get_ice_servers = module.async_get_ice_servers
            module.async_get_ice_servers = lambda hass: []
            await self.client.start(
                websocket_url(hass), token, camera.entity_id, self.config.client_rcvbuf, self.config.codec
            )
            try:
                await self._phases(hass, module, get_ice_servers)
            finally:
                await self.client.stop()
                module.async_get_ice_servers = get_ice_servers
                self.outcome.warnings += self.logs.take_unexpected()

    async def _phases(self, hass: Any, camera_module: Any, get_ice_servers: Callable[..., Any]) -> None:
        config = self.config
        print("Warm-up (unmeasured): 1 viewer, 3 offers", flush=True)
        await self._set_viewers(1)
        await asyncio.sleep(2 * config.settle_s)
        await self._set_viewers(0)
        await self._offers(3)

        for rep in range(config.repeat):
            order = config.viewers if rep % 2 == 0 else config.viewers[::-1]
            for count in order:
                window = await self._window(count, rep + 1)
                self.outcome.windows.append(window)
                print("  " + _window_line(window), flush=True)

        if config.profile_s > 0:
            count = max(config.viewers)
            print(f"Profile (unmeasured): {count} viewers, {config.profile_s:g} s", flush=True)
            await self._set_viewers(count)
            await asyncio.sleep(config.settle_s)
            self.outcome.profile = await profile_window(config.profile_s, count)

        await self._set_viewers(0)
        await asyncio.sleep(config.settle_s)
        print(f"Offers, host candidates only: {config.offers}", flush=True)
        self.outcome.host = await self._offers(config.offers)
        print("  " + _offer_line(self.outcome.host), flush=True)

        from webrtc_models import RTCIceServer

        loop = asyncio.get_running_loop()
        transport, stun = await loop.create_datagram_endpoint(SilentStunServer, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        camera_module.async_get_ice_servers = get_ice_servers
        hass.config.webrtc.ice_servers = [RTCIceServer(urls=f"stun:127.0.0.1:{port}")]
        try:
            print(f"Offers, one unreachable STUN server (stun:127.0.0.1:{port}): {config.offers}", flush=True)
            self.outcome.stun = await self._offers(config.offers)
            self.outcome.stun.stun_requests = stun.requests
            print("  " + _offer_line(self.outcome.stun), flush=True)
        finally:
            hass.config.webrtc.ice_servers = []
            camera_module.async_get_ice_servers = lambda hass: []
            transport.close()

    async def _set_viewers(self, count: int) -> list[str]:
        reply = await self.client.set_viewers(count)
        self.current_viewers = reply["count"]
        errors: list[str] = reply["errors"]
        if reply["count"] != count:
            errors.append(f"{reply['count']} of {count} viewers connected")
        return errors

    async def _offers(self, count: int) -> OfferResult:
        reply = await self.client.offers(count)
        return OfferResult(
            answer_ms=[value * 1000 for value in reply["answer_s"]],
            first_frame_ms=[value * 1000 for value in reply["first_frame_s"]],
            errors=reply["errors"],
        )

    async def _window(self, count: int, run: int) -> Window:
        problems = await self._set_viewers(count)
        await asyncio.sleep(self.config.settle_s)
        stream = self.stream
        await self.client.record(True)
        self.log.start()
        dropped_start = stream.live.diagnostics()["dropped_video"]
        packets_start = stream._stats.packets
        bytes_start = self.log.worker_bytes
        threads_start = thread_cpu()
        camera_pid = self.camera_pid()
        camera_start = process_cpu(camera_pid)
        udp_start = udp_errors()
        cpu_start, wall_start = time.process_time(), time.monotonic()
        await asyncio.sleep(self.config.window_s)
        cpu_end, wall_end = time.process_time(), time.monotonic()
        threads_end = thread_cpu()
        camera_end = process_cpu(camera_pid)
        udp_end = udp_errors()
        packets = stream._stats.packets - packets_start
        video_bytes = self.log.worker_bytes - bytes_start
        dropped = stream.live.diagnostics()["dropped_video"] - dropped_start
        self.log.stop()
        recorded = await self.client.record(False)
        wall = wall_end - wall_start

        def pct(seconds: float) -> float:
            return 100 * seconds / wall

        main_tid = os.getpid()
        loop_s = worker_s = 0.0
        for tid, (name, seconds) in threads_end.items():
            used = seconds - threads_start.get(tid, (name, 0.0))[1]
            if tid == main_tid:
                loop_s += used
            elif name.startswith("stream_worker"):
                worker_s += used
        total_s = cpu_end - cpu_start
        handed_at = {pts: handed for handed, pts in self.log.worker}
        in_window = sum(1 for handed in handed_at.values() if wall_start <= handed <= wall_end)
        sessions = self.provider._sessions  # session id -> WebRtcSession (its live viewer: `_viewer`)
        latencies: list[float] = []
        sent: list[float] = []
        ratios: list[float] = []
        unmatched = lost = rtx = packets_received = 0
        for index, viewer in enumerate(recorded["viewers"]):
            frames = [(int(timestamp), float(arrived)) for timestamp, arrived in viewer["frames"]]
            session = sessions.get(viewer["session_id"])
            live_viewer = getattr(session, "_viewer", None)
            first = self.log.first.get(id(live_viewer))
            if first is None or viewer["first_ts"] is None:
                problems.append(f"viewer {index + 1}: no session or first frame to match its frames by")
                unmatched += len(frames)
                continue
            # The client's first RTP timestamp is that of the first frame the session's sender sent.
            _, first_pts = first
            offset = (viewer["first_ts"] - first_pts) & RTP_MASK
            pulls = self.log.pulls.get(id(live_viewer), [])
            matched = match_frames(frames, offset, handed_at, {pts: at for at, pts in pulls})
            latencies += matched.total
            sent += matched.sent
            unmatched += matched.unmatched
            lost += viewer["lost"]
            rtx += viewer["rtx"]
            packets_received += viewer["packets"]
            received = sum(1 for _, arrived in frames if wall_start <= arrived <= wall_end)
            if in_window:
                ratios.append(received / in_window)
        if unmatched > 0.02 * (len(latencies) + unmatched):
            problems.append(f"{unmatched} received frames matched no frame of the worker")
        camera_fps = packets / wall
        if camera_fps < CAMERA_REAL_TIME_MIN * CAMERA_FPS:
            problems.append(f"the camera delivered {camera_fps:.1f} fps (< {CAMERA_REAL_TIME_MIN:.0%} of {CAMERA_FPS})")
        if ratios and min(ratios) < VIEWER_FRAMES_MIN:
            problems.append(f"a viewer received only {min(ratios):.0%} of the frames")
        return Window(
            viewers=count,
            run=run,
            wall_s=wall,
            cpu_pct=pct(total_s),
            loop_pct=pct(loop_s),
            worker_pct=pct(worker_s),
            other_pct=pct(total_s - loop_s - worker_s),
            client_pct=100 * recorded["cpu_s"] / wall,
            camera_pct=pct(camera_end - camera_start) if camera_start is not None and camera_end is not None else None,
            camera_fps=camera_fps,
            camera_kbit=video_bytes * 8 / 1000 / wall if count else None,
            frames_min_ratio=min(ratios) if ratios else None,
            packets_per_viewer_s=packets_received / count / wall if count else None,
            lost=lost,
            rtx=rtx,
            udp_drops=(udp_end[0] - udp_start[0], udp_end[1] - udp_start[1]),
            dropped=dropped,
            latency_ms=[value * 1000 for value in latencies],
            sent_ms=[value * 1000 for value in sent],
            unmatched=unmatched,
            load=load_average(),
            problems=problems,
        )


async def profile_window(seconds: float, viewers: int) -> str:
    """cProfile (every thread) over `seconds`: the top functions by own time and by cumulative time, as markdown."""
    profiler = cProfile.Profile(time.process_time)  # CPU time: blocking calls (epoll, the demuxer's read) cost none
    cpu_start = time.process_time()
    started = time.monotonic()
    profiler.enable()
    try:
        await asyncio.sleep(seconds)
    finally:
        profiler.disable()
    wall = time.monotonic() - started
    cpu = time.process_time() - cpu_start
    stats: Any = pstats.Stats(profiler)
    rows = list(stats.stats.items())  # (file, line, function) -> (primitive calls, calls, own s, cumulative s, callers)

    def table(entries: list[Any], key: Callable[[Any], float], title: str) -> list[str]:
        lines = [
            f"Top {PROFILE_TOP} by {title}: process CPU time (cProfile with a CPU clock, every thread) over "
            f"{wall:.1f} s with {viewers} viewers, {100 * cpu / wall:.0f} % of a core in all under the profiler, "
            "which slows every Python call: read shares, not absolute costs.",
            "",
            "| function | where | calls/s | own % of a core | cumulative % of a core |",
            "|---|---|---|---|---|",
        ]
        for (path, line, function), (_, calls, own, cumulative, _) in sorted(entries, key=key, reverse=True)[
            :PROFILE_TOP
        ]:
            where = f"{_short_path(path)}:{line}" if line else _short_path(path)
            lines.append(
                f"| `{function}` | {where} | {calls / wall:.0f} | {100 * own / wall:.2f} "
                f"| {100 * cumulative / wall:.2f} |"
            )
        return lines

    own_table = table(rows, lambda row: row[1][2], "own time")
    cumulative_table = table(rows, lambda row: row[1][3], "cumulative time")
    ours = [row for row in rows if "custom_components/stream/" in row[0][0]]
    ours_table = table(ours, lambda row: row[1][3], "cumulative time, our integration's functions only")
    return "\n".join([*own_table, "", *cumulative_table, "", *ours_table])


def _short_path(path: str) -> str:
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


# -- report -----------------------------------------------------------------------------------------------------------


def _window_line(window: Window) -> str:
    latency = window.latency_ms
    return (
        f"run {window.run} {window.viewers:2d} viewers: sender CPU {window.cpu_pct:5.1f} % "
        f"(loop {window.loop_pct:.1f}, worker {window.worker_pct:.1f}), clients {window.client_pct:.1f} %, "
        f"camera {window.camera_fps:.1f} fps {fmt(window.camera_kbit, '.0f')} kbit/s, "
        f"latency median {fmt(median(latency), '.1f')} p95 {fmt(percentile_or_none(latency, 0.95), '.1f')} ms "
        f"({len(latency)} frames), lost/RTX {window.lost}/{window.rtx}, "
        f"UDP drops {window.udp_drops[0]}/{window.udp_drops[1]}, load {window.load}"
        + (f" [{'; '.join(window.problems)}]" if window.problems else "")
    )


def _offer_line(result: OfferResult) -> str:
    answers = result.answer_ms
    return (
        f"offer->answer median {fmt(median(answers), '.0f')} ms, "
        f"p95 {fmt(percentile_or_none(answers, 0.95), '.0f')} ms, "
        f"max {fmt(max(answers) if answers else None, '.0f')} ms over {len(answers)}"
        + (f"; STUN requests received {result.stun_requests}" if result.stun_requests is not None else "")
        + (f"; errors: {'; '.join(result.errors)}" if result.errors else "")
    )


def _verdict(ok: bool | None, valid: bool = True) -> str:
    if not valid or ok is None:
        return "**INVALID**"
    return "**PASS**" if ok else "**FAIL**"


def summarize(config: Config, outcome: Outcome) -> tuple[str, str, str]:
    """The main table, the per-window table, and the overall PASS, FAIL or INVALID."""
    by_count: dict[int, list[Window]] = {}
    for window in outcome.windows:
        by_count.setdefault(window.viewers, []).append(window)
    verdicts: list[str] = []
    lines = table_head("| figure | value | target | verdict |")
    cpu_median = {count: statistics.median(w.cpu_pct for w in windows) for count, windows in by_count.items()}
    for count in sorted(by_count):
        windows = by_count[count]
        runs = " ".join(f"{w.cpu_pct:.1f}" for w in windows)
        loop = statistics.median(w.loop_pct for w in windows)
        worker = statistics.median(w.worker_pct for w in windows)
        lines.append(
            f"| sender CPU, {count} viewers: % of a core (median; runs) | {cpu_median[count]:.1f} ({runs}); "
            f"event loop {loop:.1f}, worker {worker:.1f} | | |"
        )
    fit = [(float(count), cpu) for count, cpu in cpu_median.items() if count >= 1]
    per_viewer = slope(fit)
    valid_cpu = all(not w.problems for w in outcome.windows) and per_viewer is not None
    ok = per_viewer is not None and per_viewer <= CPU_PER_VIEWER_TARGET
    verdict = _verdict(ok, valid_cpu)
    verdicts.append(verdict)
    counts = sorted(count for count in cpu_median if count >= 1)
    lines.append(
        f"| sender CPU per added viewer: % of a core (least squares over {', '.join(map(str, counts))} viewers) "
        f"| {fmt(per_viewer, '.2f')} | <= {CPU_PER_VIEWER_TARGET:g} | {verdict} |"
    )
    if len(counts) >= 2:
        low, high = counts[0], counts[-1]
        lines.append(
            f"| sender CPU per added viewer, {low} → {high} viewers | "
            f"{(cpu_median[high] - cpu_median[low]) / (high - low):.2f} | | |"
        )
    if 0 in cpu_median and 1 in cpu_median:
        lines.append(
            f"| sender CPU of the first viewer (0 → 1: live feed on + one session) | "
            f"{cpu_median[1] - cpu_median[0]:.2f} | | |"
        )

    for label, result, target in (
        ("host candidates only", outcome.host, OFFER_HOST_TARGET_MS),
        ("one unreachable STUN server", outcome.stun, OFFER_STUN_TARGET_MS),
    ):
        answers = result.answer_ms
        answer = median(answers)
        valid = bool(answers) and not result.errors and (result.stun_requests is None or result.stun_requests > 0)
        verdict = _verdict(answer is not None and answer <= target, valid)
        verdicts.append(verdict)
        stun = f"; STUN requests received: {result.stun_requests}" if result.stun_requests is not None else ""
        lines.append(
            f"| offer → answer, {label}: ms median (p95, max; n) | {fmt(answer, '.0f')} "
            f"({fmt(percentile_or_none(answers, 0.95), '.0f')}, {fmt(max(answers) if answers else None, '.0f')};"
            f" {len(answers)})"
            f"{stun}; first frame after the answer median {fmt(median(result.first_frame_ms), '.0f')} ms "
            f"| <= {target:g} (median) | {verdict} |"
        )

    for count in sorted(by_count):
        if count == 0:
            continue
        windows = by_count[count]
        samples = [value for w in windows for value in w.latency_ms]
        sent = [value for w in windows for value in w.sent_ms]
        p95 = percentile_or_none(samples, 0.95)
        judged = count in LATENCY_JUDGED_AT
        valid = len(samples) >= config.min_latency_samples and all(not w.problems for w in windows)
        verdict = _verdict(p95 is not None and p95 <= LATENCY_P95_TARGET_MS, valid) if judged else ""
        if judged:
            verdicts.append(verdict)
        lines.append(
            f"| added latency worker → client, {count} viewers: ms p95 (median, max; frames) | {fmt(p95, '.1f')} "
            f"({fmt(median(samples), '.1f')}, {fmt(max(samples) if samples else None, '.1f')}; {len(samples)}); "
            f"worker → sent p95 {fmt(percentile_or_none(sent, 0.95), '.1f')} (median {fmt(median(sent), '.1f')}) "
            f"| {f'p95 <= {LATENCY_P95_TARGET_MS:g}' if judged else ''} | {verdict} |"
        )
    overall = "INVALID" if "**INVALID**" in verdicts else "FAIL" if "**FAIL**" in verdicts else "PASS"
    if outcome.warnings and overall == "PASS":
        overall = "INVALID"

    header = (
        "| viewers | run | sender CPU % | event loop % | worker % | other % | client peers CPU % | camera CPU % "
        "| camera fps | camera kbit/s | frames received (lowest viewer) | RTP packets/s per viewer "
        "| lost / RTX packets | UDP drops rcv / snd | dropped frames | latency median / p95 / max ms "
        "| worker → sent median / p95 ms | load average | problems |"
    )
    rows = table_head(header)
    for w in outcome.windows:
        rows.append(
            f"| {w.viewers} | {w.run} | {w.cpu_pct:.1f} | {w.loop_pct:.1f} | {w.worker_pct:.1f} | {w.other_pct:.1f} "
            f"| {w.client_pct:.1f} | {fmt(w.camera_pct, '.1f')} | {w.camera_fps:.1f} "
            f"| {fmt(w.camera_kbit, '.0f')} "
            f"| {fmt(None if w.frames_min_ratio is None else 100 * w.frames_min_ratio, '.0f')} % "
            f"| {fmt(w.packets_per_viewer_s, '.0f')} | {w.lost} / {w.rtx} | {w.udp_drops[0]} / {w.udp_drops[1]} "
            f"| {w.dropped} "
            f"| {fmt(median(w.latency_ms), '.1f')} / {fmt(percentile_or_none(w.latency_ms, 0.95), '.1f')} / "
            f"{fmt(max(w.latency_ms) if w.latency_ms else None, '.1f')} "
            f"| {fmt(median(w.sent_ms), '.1f')} / {fmt(percentile_or_none(w.sent_ms, 0.95), '.1f')} | {w.load} "
            f"| {'; '.join(w.problems)} |"
        )
    return "\n".join(lines), "\n".join(rows), overall


def report(config: Config, argv: Sequence[str], outcome: Outcome, *, machine: Machine) -> tuple[str, str]:
    table, windows, overall = summarize(config, outcome)
    lines = [
        *head("WebRTC benchmark", "webrtc", argv),
        f"Camera: {config.describe_camera()}; Home Assistant's ffmpeg camera platform on it  ",
        "Viewers: aiortc client peers (tests/webrtc_client.py, websocket signalling like the frontend), "
        f"{config.viewers_per_process} per child process, no decoding (a frame counts as received at its last RTP "
        f"packet), UDP receive buffer {config.client_rcvbuf or 'aioice default (262144)'}; ICE on 127.0.0.1 only  ",
        f"Runs: {config.repeat} x {config.window_s:g} s windows per viewer count ({', '.join(map(str, config.viewers))}"
        f"), {config.settle_s:g} s settling first, counts ascending then descending; {config.offers} offers per ICE "
        "setting; one unmeasured warm-up  ",
        machine.line(),
        "",
        "There is no WebRTC in Home Assistant's built-in `stream` to compare with: the figures are absolute.",
        "",
        table,
        "",
        f"Targets (issue 4): **{overall}**",
        "",
        "Sender CPU is this whole Home Assistant process (worker thread, event loop with the aiortc senders, the rest"
        " of Home Assistant), the viewers' and the camera's processes excluded. Added latency runs from the worker"
        " handing a frame to the live feed to the client peer receiving the frame's last RTP packet; worker → sent"
        " ends when the session's sender has sent it (our side alone: on loopback the client's socket has the packet"
        " then; the rest is the client peer's own Python event loop on the same two cores). Offer → answer runs on a"
        " warm stream with no other viewer; the first frame then waits for the camera's next keyframe (the live feed"
        " keeps none while nobody watches live).",
        "",
        "## Windows",
        "",
        windows,
    ]
    if outcome.profile:
        lines += ["", "## Where the CPU goes", "", outcome.profile]
    lines += warnings_section(outcome.warnings)
    return "\n".join(lines) + "\n", overall


# -- command line ------------------------------------------------------------------------------------------------------


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, 5 s windows, 5 offers")
    parser.add_argument("--repeat", type=int, help=f"windows per viewer count (default {DEFAULT_REPEAT})")
    parser.add_argument("--window", type=float, help=f"seconds per window (default {DEFAULT_WINDOW_S:g})")
    parser.add_argument("--offers", type=int, help=f"offers per ICE setting (default {DEFAULT_OFFERS})")
    parser.add_argument(
        "--viewers",
        default=",".join(map(str, DEFAULT_VIEWERS)),
        help="comma-separated viewer counts (default 0,1,4,16)",
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="file",
        help="the camera: a pre-encoded 4 Mbit/s file served in real time (default), or the RTSP simulator",
    )
    parser.add_argument(
        "--codec",
        choices=CODECS,
        default="h264",
        help="the file camera's video: H.264 High (default) or H.265 Main (sent with webrtc_h265: true)",
    )
    parser.add_argument(
        "--size", type=parse_size, default=DEFAULT_SIZE, help=f"camera WIDTHxHEIGHT (default {DEFAULT_SIZE})"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the profiled window")
    parser.add_argument(
        "--client-rcvbuf",
        type=int,
        help="UDP receive buffer (SO_RCVBUF bytes) of the client peers' sockets (default: aioice's 262144)",
    )
    parser.add_argument(
        "--viewers-per-process",
        type=int,
        default=DEFAULT_VIEWERS_PER_PROCESS,
        help=f"client peers per viewer process (default {DEFAULT_VIEWERS_PER_PROCESS})",
    )
    parser.add_argument("--client", metavar="WS_URL", help=argparse.SUPPRESS)
    parser.add_argument("--entity", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = _parse(argv)
    setup_logging()
    if args.client:
        asyncio.run(client_main(args.client, args.entity, args.client_rcvbuf, args.codec))
        return 0
    width, height = args.size
    quick = args.quick
    config = Config(
        viewers=sorted({int(count) for count in args.viewers.split(",") if count}),
        repeat=args.repeat or (QUICK_REPEAT if quick else DEFAULT_REPEAT),
        window_s=args.window or (QUICK_WINDOW_S if quick else DEFAULT_WINDOW_S),
        settle_s=QUICK_SETTLE_S if quick else SETTLE_S,
        offers=args.offers or (QUICK_OFFERS if quick else DEFAULT_OFFERS),
        profile_s=0.0 if args.no_profile else QUICK_PROFILE_S if quick else DEFAULT_PROFILE_S,
        min_latency_samples=QUICK_MIN_LATENCY_SAMPLES if quick else MIN_LATENCY_SAMPLES,
        width=width,
        height=height,
        source=args.source,
        codec=args.codec,
        client_rcvbuf=args.client_rcvbuf,
        viewers_per_process=args.viewers_per_process,
        quick=quick,
    )
    machine = Machine()
    outcome = asyncio.run(Bench(config).run())
    text, overall = report(config, argv, outcome, machine=machine)
    publish(
        "webrtc", text, ("-quick", quick), ("-simulator", args.source == "simulator"), ("-h265", args.codec == "h265")
    )
    return 0 if overall == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
