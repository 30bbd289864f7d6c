"""What the live feed carries: timestamped frames in WebRTC payload formats."""

from __future__ import annotations

from dataclasses import dataclass

VIDEO_CLOCK_RATE = 90000  # RTP clock of every video payload format


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
