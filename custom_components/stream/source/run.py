"""What one worker run is given (`WorkerRun`) and what it reports (`WorkerStats`), and the live sink it feeds."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from .damage import DamageLog
from .rates import MediaRateMeter

if TYPE_CHECKING:
    from ..remux.segmenter import PartSink, StreamTimeline
    from ..settings import StreamSettings
    from .description import AudioSource, VideoSource


class LiveSink(Protocol):
    """Where demuxed frames go for live (WebRTC) viewers (`outputs.live.LiveFeed`), before any muxing.

    `active` and `wants_video` are read for every packet: plain attributes the event loop flips."""

    active: bool
    wants_video: bool

    def start_run(
        self,
        video: VideoSource,
        video_scale: int,
        extradata: bytes | None,
        audio: AudioSource | None,
        audio_scale: int,
        audio_extradata: bytes | None,
    ) -> None: ...

    def video(self, pts: int, keyframe: bool, data: bytes) -> None: ...

    def audio(self, pts: int, data: bytes) -> None: ...


@dataclass(slots=True)
class WorkerStats:
    """What the worker has seen, for availability, diagnostics and snapshots (written by the worker thread)."""

    container_format: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int = 0
    height: int = 0
    packets: int = 0
    discontinuities: int = 0
    rates: MediaRateMeter = field(default_factory=MediaRateMeter)  # fps, bitrate, keyframe interval


@dataclass(slots=True)
class WorkerRun:
    """Everything one run needs; `sink` and `on_discontinuity` hand results to the event loop."""

    source: str
    open_options: dict[str, str]
    settings: StreamSettings
    timeline: StreamTimeline
    sink: PartSink
    on_discontinuity: Callable[[], None]
    on_started: Callable[[], None]
    on_keyframe: Callable[[str, bytes | None, bytes], None]  # (codec, extradata, packet data), for snapshots
    quit: threading.Event
    stats: WorkerStats = field(default_factory=WorkerStats)
    live: LiveSink | None = None  # frames for live (WebRTC) viewers, straight from the demuxer
    damage: DamageLog = field(default_factory=DamageLog)  # dropped damaged packets, logged once a minute per kind
