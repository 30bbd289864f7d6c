"""What a source carries, as one worker run (or a probe) found it: codecs, size, profile, frame order, audio."""

from __future__ import annotations

from dataclasses import dataclass

from ..remux.fmp4.parameter_sets import ParameterSets, VideoCodec

# Frames checked for presentation-order reordering (B-frames): a reordered frame shows within the first few frames
# after a keyframe (I P B B ...), half a second is plenty.
REORDER_CHECK_FRAMES = 15


@dataclass(frozen=True, slots=True)
class VideoSource:
    codec: str  # "h264" or "hevc"
    width: int
    height: int
    profile_level_id: str | None  # H.264 SDP profile-level-id ("640028"), from the SPS; None until known
    parameter_sets: ParameterSets | None = None  # from the extradata or the first keyframe; None until known


@dataclass(frozen=True, slots=True)
class AudioSource:
    codec: str  # the camera's codec as FFmpeg names it: "aac", "pcm_mulaw", "pcm_alaw", "opus", ...
    sample_rate: int
    channels: int


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A worker run's codecs. `reordered` turns True once a frame arrives out of presentation order (B-frames);
    `order_known` once enough frames were checked to tell."""

    run: int
    video: VideoSource
    audio: AudioSource | None
    reordered: bool = False
    order_known: bool = False

    @property
    def ready(self) -> bool:
        """True once a session can be decided: frame order known and the profile (H.264: profile_level_id; H.265:
        the parameter sets, whose SPS tells it)."""
        if self.video.codec != "h264":
            sets = self.video.parameter_sets
            return self.order_known and sets is not None and bool(sets.sps)
        return self.order_known and self.video.profile_level_id is not None


class FrameOrder:
    """Whether frames come out of presentation order (B-frames), from the first REORDER_CHECK_FRAMES with a pts.

    `known` is a plain attribute: the live feed reads it for every packet."""

    __slots__ = ("_last_pts", "checked", "known", "reordered")

    def __init__(self) -> None:
        self.checked = 0
        self.reordered = False
        self.known = False
        self._last_pts: int | None = None

    def add(self, pts: int | None) -> None:
        if pts is None or self.known:
            return
        self.reordered = self._last_pts is not None and pts < self._last_pts
        self._last_pts = pts
        self.checked += 1
        self.known = self.reordered or self.checked >= REORDER_CHECK_FRAMES


def profile_level_id(codec: VideoCodec, sets: ParameterSets | None) -> str | None:
    """H.264's profile_idc, constraint flags and level_idc (the three bytes after the SPS NAL header), in hex."""
    if codec != "h264" or sets is None or not sets.sps or len(sets.sps[0]) < 4:
        return None
    return sets.sps[0][1:4].hex()
