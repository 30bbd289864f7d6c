"""RTP timestamps across worker runs, and the aiortc tracks that hand a viewer's frames to aiortc's RTP senders as
encoded packets (no re-encoding). Video normally bypasses aiortc's send loop (rtp_video.py); its track is the
fallback for an aiortc whose internals moved."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..live import LiveAudioFrame, LiveVideoFrame, LiveViewer
from ..live.frames import VIDEO_CLOCK_RATE

# A source clock that jumps back by more than this many frames within a run (the camera reset its timestamps and the
# worker carried on) is followed on one frame later, as a new run is: holding the output at +1 per frame until the
# source caught up again would freeze the receivers' RTP clock for as long as the jump.
MAX_BACKWARD_STEPS = 30
# The gap a video timeline leaves between runs: one frame at 30 fps.
VIDEO_FRAME_STEP = VIDEO_CLOCK_RATE // 30


class RtpTimeline:
    """Keeps a track's timestamps increasing across worker runs (each run starts a new source clock)."""

    def __init__(self, step: int) -> None:
        self._step = step  # gap left between runs: one nominal frame
        self._run: int | None = None
        self._offset = 0
        self._last = -step

    def rebase(self, run: int, pts: int) -> int:
        if run != self._run or pts + self._offset < self._last - MAX_BACKWARD_STEPS * self._step:
            self._run = run
            self._offset = self._last + self._step - pts
        out = pts + self._offset
        if out <= self._last:  # never go back, whatever the camera does (a repeated timestamp, a small step back)
            out = self._last + 1
        self._last = out
        return out


class LiveVideoTrack(MediaStreamTrack):
    """H.264 access units (Annex-B, parameter sets before keyframes) for aiortc's H.264 packetizer."""

    kind = "video"

    def __init__(self, viewer: LiveViewer) -> None:
        super().__init__()
        self._viewer = viewer
        self._timeline = RtpTimeline(step=VIDEO_FRAME_STEP)
        self._time_base = Fraction(1, 90000)

    async def recv(self) -> av.Packet[Any]:
        frame: LiveVideoFrame | None = await self._viewer.next_video()
        if frame is None:
            self.stop()
            raise MediaStreamError
        packet = av.Packet(frame.data)
        packet.pts = self._timeline.rebase(frame.run, frame.pts)
        packet.time_base = self._time_base
        return packet


class LiveAudioTrack(MediaStreamTrack):
    """G.711 or Opus passed through, or the camera's shared Opus encoding of other audio."""

    kind = "audio"

    def __init__(self, viewer: LiveViewer) -> None:
        super().__init__()
        self._viewer = viewer
        self._timeline: RtpTimeline | None = None
        self._time_base: Fraction | None = None

    async def recv(self) -> av.Packet[Any]:
        frame: LiveAudioFrame | None = await self._viewer.next_audio()
        if frame is None:
            self.stop()
            raise MediaStreamError
        if self._timeline is None or self._time_base is None:
            self._timeline = RtpTimeline(step=frame.clock_rate // 50)
            self._time_base = Fraction(1, frame.clock_rate)
        packet = av.Packet(frame.data)
        packet.pts = self._timeline.rebase(frame.run, frame.pts)
        packet.time_base = self._time_base
        return packet
