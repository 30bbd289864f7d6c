"""The live feed of one stream: the worker thread publishes frames, every live viewer gets its own bounded queue.

A viewer that falls behind loses its queued video and resumes at the next keyframe; it never slows the worker or
the other viewers. New viewers start with the last keyframe at once (the picture shows immediately) and then wait
for the next one, so they never decode a frame whose references they missed. The worker hands over every keyframe
even while nobody watches live (one conversion per GOP), so the first viewer gets that picture too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ...remux.fmp4.parameter_sets import VideoCodec
from ...source.description import AudioSource, FrameOrder, SourceInfo, VideoSource, profile_level_id
from .frames import VIDEO_CLOCK_RATE, LiveAudioFrame, LiveVideoFrame
from .opus import OPUS_CLOCK_RATE, OpusTranscoder
from .video import AnnexBConverter

# Video frames a viewer may have queued (about 2 s at 30 fps) before it skips to the next keyframe.
MAX_QUEUED_VIDEO = 60
MAX_QUEUED_AUDIO = 100
# Camera audio WebRTC carries as it is (FFmpeg's codec name: RTP name and clock rate); the rest is transcoded to Opus.
# A demuxed Opus packet is one RTP payload as the camera sent it (RFC 7587), and its clock is always 48 kHz.
PASSTHROUGH_AUDIO = {"pcm_mulaw": ("PCMU", 8000), "pcm_alaw": ("PCMA", 8000), "opus": ("opus", OPUS_CLOCK_RATE)}

type CallSoon = Callable[..., None]


class LiveViewer:
    """One live consumer's queues (event loop only)."""

    def __init__(self) -> None:
        self._video: deque[LiveVideoFrame] = deque()
        self._audio: deque[LiveAudioFrame] = deque()
        self._video_ready = asyncio.Event()
        self._audio_ready = asyncio.Event()
        self._waiting_for_keyframe = True
        self._closed = asyncio.Event()
        self.error: str | None = None  # why the feed ended the viewer (the camera failed), if it did
        self.dropped_video = 0

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def put_video(self, frame: LiveVideoFrame) -> None:
        if frame.keyframe:
            self._waiting_for_keyframe = False
        elif self._waiting_for_keyframe:
            return
        if len(self._video) >= MAX_QUEUED_VIDEO:
            self.dropped_video += len(self._video)
            self._video.clear()
            if not frame.keyframe:
                self._waiting_for_keyframe = True
                return
        self._video.append(frame)
        self._video_ready.set()

    def put_audio(self, frame: LiveAudioFrame) -> None:
        if len(self._audio) >= MAX_QUEUED_AUDIO:
            self._audio.popleft()
        self._audio.append(frame)
        self._audio_ready.set()

    def start_with(self, keyframe: LiveVideoFrame) -> None:
        """Show `keyframe` now, then wait for the next one."""
        self.put_video(keyframe)
        self._waiting_for_keyframe = True

    def close(self, error: str | None = None) -> None:
        if not self.closed:
            self.error = error
        self._closed.set()
        self._video_ready.set()
        self._audio_ready.set()

    async def next_video(self) -> LiveVideoFrame | None:
        """The next video frame; None once the viewer is closed."""
        return await self._next(self._video, self._video_ready)

    async def next_audio(self) -> LiveAudioFrame | None:
        return await self._next(self._audio, self._audio_ready)

    async def _next[T](self, queue: deque[T], ready: asyncio.Event) -> T | None:
        while not queue:
            if self.closed:
                return None
            ready.clear()
            await ready.wait()
        return None if self.closed else queue.popleft()


class LiveFeed:
    """Written by the worker thread (`start_run`, `video`, `audio`); read on the event loop (viewers, source)."""

    def __init__(self, call_soon: CallSoon) -> None:
        self._call_soon = call_soon
        # Read by the worker for every packet: plain attributes, flipped on the event loop.
        self.active = False
        self.wants_video = False
        # Event loop side.
        self._viewers: set[LiveViewer] = set()
        self._source: SourceInfo | None = None
        self._last_keyframe: LiveVideoFrame | None = None
        self._source_waiters: list[asyncio.Future[None]] = []
        self._source_listeners: list[Callable[[SourceInfo], None]] = []
        self.webrtc_refused: str | None = None  # why the WebRTC provider does not offer this camera (diagnostics)
        # Worker thread side.
        self._run = 0
        self._run_source: SourceInfo | None = None
        self._codec: VideoCodec = "h264"
        self._converter: AnnexBConverter | None = None
        self._transcoder: OpusTranscoder | None = None
        self._audio_args: tuple[str, int, int, bytes | None] | None = None
        self._video_scale = VIDEO_CLOCK_RATE
        self._audio_scale = 1
        self._order = FrameOrder()

    # -- worker thread --------------------------------------------------------------------------------------------

    def start_run(
        self,
        video: VideoSource,
        video_scale: int,
        extradata: bytes | None,
        audio: AudioSource | None,
        audio_scale: int,
        audio_extradata: bytes | None,
    ) -> None:
        """A worker run opened the source: new timestamps, maybe new codecs."""
        self._run += 1
        self._video_scale = video_scale
        self._audio_scale = audio_scale or 1
        self._order = FrameOrder()
        self._transcoder = None
        self._codec = "hevc" if video.codec == "hevc" else "h264"
        self._converter = AnnexBConverter(self._codec, extradata)
        self._audio_args = (audio.codec, audio.sample_rate, audio.channels, audio_extradata) if audio else None
        self._publish_source(SourceInfo(self._run, self._with_parameter_sets(video), audio))
        self.wants_video = True

    def video(self, pts: int, keyframe: bool, data: bytes) -> None:
        """One demuxed video packet (`pts` in the run's video timescale)."""
        if not self._order.known:
            self._check_order(pts)
        if (not self.active and not keyframe) or self._converter is None:
            return  # keyframes always: the next viewer's first picture (and the profile) without waiting a GOP
        had_parameter_sets = self._converter.parameter_sets is not None
        annexb = self._converter.convert(data, keyframe)
        if annexb is None:
            return
        if not had_parameter_sets and self._run_source is not None:  # the first keyframe told the profile
            video = self._with_parameter_sets(self._run_source.video)
            self._publish_source(replace(self._run_source, video=video))
        frame = LiveVideoFrame(self._run, pts * VIDEO_CLOCK_RATE // self._video_scale, keyframe, annexb)
        self._call_soon(self._dispatch_video, frame)

    def audio(self, pts: int, data: bytes) -> None:
        """One demuxed audio packet (`pts` in the run's audio timescale)."""
        if not self.active or self._audio_args is None:
            return
        codec, rate, channels, extradata = self._audio_args
        if (passthrough := PASSTHROUGH_AUDIO.get(codec)) is not None:
            name, clock = passthrough
            frame = LiveAudioFrame(self._run, pts * clock // self._audio_scale, clock, name, data)
            self._call_soon(self._dispatch_audio, frame)
            return
        transcoder = self._transcoder  # the event loop drops it when the last viewer leaves
        if transcoder is None:
            transcoder = self._transcoder = OpusTranscoder(codec, rate, channels, extradata, self._run)
        for frame in transcoder.transcode(pts / self._audio_scale, data):
            self._call_soon(self._dispatch_audio, frame)

    def _check_order(self, pts: int) -> None:
        order = self._order
        order.add(pts)
        if order.known:
            self.wants_video = self.active
            if (source := self._run_source) is not None:
                self._publish_source(replace(source, reordered=order.reordered, order_known=True))

    def _with_parameter_sets(self, video: VideoSource) -> VideoSource:
        """`video` with the parameter sets known so far and, for H.264, the profile-level-id they tell."""
        sets = self._converter.parameter_sets if self._converter is not None else None
        return replace(video, profile_level_id=profile_level_id(self._codec, sets), parameter_sets=sets)

    def _publish_source(self, source: SourceInfo) -> None:
        self._run_source = source
        self._call_soon(self._set_source, source)

    # -- event loop -------------------------------------------------------------------------------------------------

    @property
    def source(self) -> SourceInfo | None:
        """The codecs of the current (or last) worker run; None until the source was opened once."""
        return self._source

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    async def wait_for_source(self, timeout: float) -> SourceInfo | None:
        """The source info once it is `ready`, waiting up to `timeout` s for the source to open (and, for H.264
        sources without parameter sets in their extradata, for the first keyframe); None when it did not."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._source is None or not self._source.ready:
                    waiter = loop.create_future()
                    self._source_waiters.append(waiter)
                    await waiter
        return self._source if self._source is not None and self._source.ready else None

    def add_source_listener(self, listener: Callable[[SourceInfo], None]) -> Callable[[], None]:
        self._source_listeners.append(listener)
        return lambda: self._source_listeners.remove(listener)

    def add_viewer(self) -> LiveViewer:
        viewer = LiveViewer()
        if self._last_keyframe is not None:
            viewer.start_with(self._last_keyframe)
        self._viewers.add(viewer)
        self.active = self.wants_video = True
        return viewer

    def remove_viewer(self, viewer: LiveViewer, error: str | None = None) -> None:
        viewer.close(error)
        self._viewers.discard(viewer)
        if not self._viewers:
            self.active = False
            self.wants_video = not self._order.known  # benign race with the worker's check
            self._transcoder = None  # the next viewer's audio starts from fresh timestamps

    def close(self, error: str | None = None) -> None:
        """The stream's outputs stopped (or its source failed, `error`): every viewer ends."""
        for viewer in list(self._viewers):
            self.remove_viewer(viewer, error)

    def forget_keyframe(self) -> None:
        """The worker stopped: its last keyframe would show the next viewer an old picture."""
        self._last_keyframe = None

    def _set_source(self, source: SourceInfo) -> None:
        if self._source is None or self._source.run != source.run:
            self._last_keyframe = None  # a new run's timestamps start over
        self._source = source
        waiters, self._source_waiters = self._source_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        for listener in list(self._source_listeners):
            listener(source)

    def _dispatch_video(self, frame: LiveVideoFrame) -> None:
        if frame.keyframe:
            self._last_keyframe = frame
        for viewer in self._viewers:
            viewer.put_video(frame)

    def _dispatch_audio(self, frame: LiveAudioFrame) -> None:
        for viewer in self._viewers:
            viewer.put_audio(frame)

    def diagnostics(self) -> dict[str, Any]:
        return {
            "viewers": len(self._viewers),
            "dropped_video": sum(v.dropped_video for v in self._viewers),
            "webrtc_refused": self.webrtc_refused,
        }
