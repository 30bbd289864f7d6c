"""What the live feed carries: the source's codecs once per run, then timestamped frames."""

from __future__ import annotations

from dataclasses import dataclass

from ...remux.fmp4.parameter_sets import ParameterSets

VIDEO_CLOCK_RATE = 90000  # RTP clock of every video payload format


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
        """True once a session can be decided: frame order known and, for H.264, the profile (from the SPS)."""
        if self.video.codec != "h264":
            return True
        return self.order_known and self.video.profile_level_id is not None


@dataclass(frozen=True, slots=True)
class LiveVideoFrame:
    """One access unit in Annex-B; keyframes carry their parameter sets. `pts` is on the 90 kHz clock."""

    run: int  # worker run: timestamps are continuous within one run only
    pts: int
    keyframe: bool
    data: bytes


@dataclass(frozen=True, slots=True)
class LiveAudioFrame:
    """One audio packet in a WebRTC payload format (`codec`: "PCMU", "PCMA" or "opus"); `pts` on its clock."""

    run: int
    pts: int
    clock_rate: int
    codec: str
    data: bytes
