"""A real WebRTC client for tests and benchmarks: an aiortc peer that talks to Home Assistant's websocket API the
way the frontend does (offer, trickled candidates, end-of-candidates, unsubscribe) and counts what it receives."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from custom_components.stream.outputs.webrtc.codecs import h264_capability
from custom_components.stream.outputs.webrtc.h265 import h265_capability

# What headless Chromium (software decoding) offers: no plain High profile, High 4:4:4 Predictive instead.
BROWSER_H264_PROFILES = ("42001f", "42e01f", "4d001f", "f4001f")

type SendJson = Callable[[dict[str, Any]], Awaitable[None]]
type ReceiveJson = Callable[[], Awaitable[dict[str, Any]]]


@dataclass
class TrackStats:
    """What arrived on one received track: decoded frames and their arrival times."""

    kind: str
    frames: int = 0
    first_at: float | None = None
    last_at: float | None = None
    width: int = 0
    height: int = 0
    sample_rate: int = 0
    arrivals: list[float] = field(default_factory=list)

    @property
    def fps(self) -> float:
        if self.frames < 2 or self.first_at is None or self.last_at is None or self.last_at <= self.first_at:
            return 0.0
        return (self.frames - 1) / (self.last_at - self.first_at)


class SignallingError(AssertionError):
    """Home Assistant answered with an error event (its code and message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def _strip_candidates(sdp: str) -> tuple[str, list[tuple[str, int]]]:
    """The SDP without its candidate lines, and those candidates with their m-line index (to trickle them)."""
    lines, candidates, mline = [], [], -1
    for line in sdp.splitlines():
        if line.startswith("m="):
            mline += 1
        if line.startswith("a=candidate:"):
            candidates.append((line.removeprefix("a="), mline))
            continue
        if line.startswith("a=end-of-candidates"):
            continue
        lines.append(line)
    return "\r\n".join(lines) + "\r\n", candidates


class SignallingChannel:
    """One websocket shared by any number of clients: one reader routes replies and events by id, and ids
    increase across all of them as Home Assistant requires. Found through `channel_for`, alive while used."""

    _channels: ClassVar[dict[object, SignallingChannel]] = {}
    _last_ids: ClassVar[dict[object, int]] = {}  # outlives a channel: a websocket's ids must keep increasing

    def __init__(self, send_json: SendJson, receive_json: ReceiveJson) -> None:
        self._send_json = send_json
        self._receive_json = receive_json
        self._next_id = self._last_ids.get(receive_json, 1_000_000)  # above what the test sent directly
        self._queues: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._users = 0
        self._reader: asyncio.Task[None] | None = None
        self.last_id = 0

    @classmethod
    def channel_for(cls, send_json: SendJson, receive_json: ReceiveJson) -> SignallingChannel:
        channel = cls._channels.get(receive_json)
        if channel is None:
            channel = cls._channels[receive_json] = SignallingChannel(send_json, receive_json)
        return channel

    def acquire(self) -> None:
        self._users += 1
        if self._reader is None:
            self._reader = asyncio.get_running_loop().create_task(self._read())

    async def release(self) -> None:
        self._users -= 1
        if self._users == 0:
            self._channels.pop(self._receive_json, None)
            if self._reader is not None:
                self._reader.cancel()
                await asyncio.gather(self._reader, return_exceptions=True)
                self._reader = None

    async def command(self, payload: dict[str, Any]) -> asyncio.Queue[dict[str, Any]]:
        """Send `payload` with the next id; the queue receives its result and any events."""
        self._next_id += 1
        self.last_id = self._last_ids[self._receive_json] = self._next_id
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[self._next_id] = queue
        await self._send_json({"id": self._next_id, **payload})
        return queue

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                message = await self._receive_json()
                queue = self._queues.get(message.get("id", -1))
                if queue is not None:
                    queue.put_nowait(message)


class WebRtcClient:
    """One viewer, on a websocket it may share with other clients (`SignallingChannel`)."""

    def __init__(
        self,
        send_json: SendJson,
        receive_json: ReceiveJson,
        entity_id: str,
        *,
        ice_servers: list[RTCIceServer] | None = None,
        relay_only: bool = False,
        audio: bool = True,
        video_codec: str = "h264",
    ) -> None:
        self.channel = SignallingChannel.channel_for(send_json, receive_json)
        self._entity_id = entity_id
        policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers or [], iceTransportPolicy=policy))
        self._audio = audio
        self._video_codec = video_codec  # "h264" (every profile, as Chromium) or "h265" (aiortc decodes no H.265)
        self.video = TrackStats("video")
        self.audio = TrackStats("audio")
        self.session_id: str | None = None
        self.offer_sdp: str | None = None
        self.answer_sdp: str | None = None
        self.offer_sent_at = 0.0
        self.answer_at = 0.0
        self.errors: list[SignallingError] = []
        self._offer_id = 0
        self._consumers: list[asyncio.Task[None]] = []
        self._frame_event = asyncio.Event()
        self.pc.on("track", self._on_track)

    async def __aenter__(self) -> WebRtcClient:
        self.channel.acquire()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- signalling -------------------------------------------------------------------------------------------------

    async def _command(self, payload: dict[str, Any]) -> asyncio.Queue[dict[str, Any]]:
        return await self.channel.command(payload)

    async def offer(
        self,
        *,
        trickle: bool = True,
        sdp_override: str | None = None,
        sdp_transform: Callable[[str], str] | None = None,
        timeout: float = 20,
        apply_answer: bool = True,
    ) -> str:
        """Send an offer (`sdp_transform` may rewrite it first) and wait for the answer (raises SignallingError on an
        error event); `apply_answer=False` leaves the answer unapplied (aiortc keeps trying to connect the sections
        of an answer that rejects them all)."""
        video = self.pc.addTransceiver("video", direction="recvonly")
        if self._video_codec == "h265":
            video.setCodecPreferences(h265_capability())
        else:
            # Offer H.264 the way Chromium does: every profile, not just aiortc's default constrained baseline.
            video.setCodecPreferences(
                [codec for profile in BROWSER_H264_PROFILES for codec in h264_capability(profile)]
            )
        if self._audio:
            self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        sdp, candidates = _strip_candidates(self.pc.localDescription.sdp)
        if not trickle:
            sdp, candidates = self.pc.localDescription.sdp, []
        self.offer_sdp = sdp_override or (sdp_transform(sdp) if sdp_transform else sdp)
        self.offer_sent_at = time.monotonic()
        queue = await self._command(
            {"type": "camera/webrtc/offer", "entity_id": self._entity_id, "offer": self.offer_sdp}
        )
        self._offer_id = self.channel.last_id
        result = await asyncio.wait_for(queue.get(), timeout)
        assert result["type"] == "result", result
        if not result["success"]:
            raise SignallingError(result["error"]["code"], result["error"]["message"])
        session = (await asyncio.wait_for(queue.get(), timeout))["event"]
        assert session["type"] == "session", session
        self.session_id = session["session_id"]
        for candidate, mline in candidates:
            await self.send_candidate({"candidate": candidate, "sdpMLineIndex": mline})
        if trickle:
            await self.send_candidate({"candidate": "", "sdpMLineIndex": 0})
        while True:
            event = (await asyncio.wait_for(queue.get(), timeout))["event"]
            if event["type"] == "error":
                raise SignallingError(event["code"], event["message"])
            if event["type"] == "answer":
                self.answer_at = time.monotonic()
                self.answer_sdp = event["answer"]
                break
        if apply_answer:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=self.answer_sdp, type="answer"))
        self._consumers.append(asyncio.get_running_loop().create_task(self._collect_events(queue)))
        return self.answer_sdp

    async def send_candidate(self, candidate: dict[str, Any]) -> dict[str, Any]:
        assert self.session_id is not None
        queue = await self._command(
            {
                "type": "camera/webrtc/candidate",
                "entity_id": self._entity_id,
                "session_id": self.session_id,
                "candidate": candidate,
            }
        )
        return await asyncio.wait_for(queue.get(), 10)

    async def _collect_events(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with contextlib.suppress(Exception):
            while True:
                event = (await queue.get())["event"]
                if event["type"] == "error":
                    self.errors.append(SignallingError(event["code"], event["message"]))
                    self._frame_event.set()

    async def unsubscribe(self) -> None:
        if self._offer_id:
            queue = await self._command({"type": "unsubscribe_events", "subscription": self._offer_id})
            await asyncio.wait_for(queue.get(), 10)
            self._offer_id = 0

    async def close(self) -> None:
        await self.unsubscribe()
        await self.pc.close()
        for task in self._consumers:
            task.cancel()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        self._consumers.clear()
        await self.channel.release()

    # -- media ------------------------------------------------------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        stats = self.video if track.kind == "video" else self.audio
        self._consumers.append(asyncio.get_running_loop().create_task(self._consume(track, stats)))

    async def _consume(self, track: MediaStreamTrack, stats: TrackStats) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame: Any = await track.recv()
                now = time.monotonic()
                stats.frames += 1
                stats.first_at = stats.first_at or now
                stats.last_at = now
                stats.arrivals.append(now)
                if track.kind == "video":
                    stats.width, stats.height = frame.width, frame.height
                else:
                    stats.sample_rate = frame.sample_rate
                self._frame_event.set()

    async def wait_for_event(self) -> None:
        """Until the next decoded frame or error event."""
        self._frame_event.clear()
        await self._frame_event.wait()

    async def wait_for_frames(self, video: int, audio: int = 0, timeout: float = 20) -> None:
        """Until `video` video frames and `audio` audio frames were decoded (or an error event arrived)."""
        async with asyncio.timeout(timeout):
            while (self.video.frames < video or self.audio.frames < audio) and not self.errors:
                self._frame_event.clear()
                await self._frame_event.wait()
        if self.errors:
            raise self.errors[0]
