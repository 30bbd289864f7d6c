"""What is wrong with a camera, in terms a user can fix: from how opening it failed, or from what it sends.

Each problem is one kind of Home Assistant repair issue (`issues.py`); its value is the issue's translation key.
"""

from __future__ import annotations

import errno
from enum import StrEnum

from .description import SourceInfo


class SourceProblem(StrEnum):
    # The camera refused to open the stream.
    CREDENTIALS = "camera_credentials"  # 401/403: wrong user name or password, or a user without access
    UNREACHABLE = "camera_unreachable"  # refused, timed out, no route, or the host name does not resolve
    NOT_FOUND = "camera_path_not_found"  # 404: the stream path (URL) is wrong
    # The camera streams, but what it sends does not play everywhere.
    H265 = "camera_h265"  # browsers without H.265 decoding show no picture
    BFRAMES = "camera_bframes"  # B-frames: WebRTC is not offered
    # The network loses the camera's packets.
    RTP_PACKET_LOSS = "camera_rtp_packet_loss"  # RTSP over UDP: lost packets break the picture


# Problems of opening the camera: at most one at a time, gone when a run delivers media.
FAILURE_PROBLEMS = frozenset({SourceProblem.CREDENTIALS, SourceProblem.UNREACHABLE, SourceProblem.NOT_FOUND})
# Problems of what the camera sends: decided by each run's codecs.
CODEC_PROBLEMS = frozenset({SourceProblem.H265, SourceProblem.BFRAMES})

# Socket errors that mean "nothing answers at that address". EIO: FFmpeg's answer when the host name does not
# resolve ("Failed to resolve hostname", only in its log).
_UNREACHABLE_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.EHOSTDOWN,
        errno.EIO,
    }
)


def unreachable_errno(code: int | None) -> bool:
    """True when an open failed with a socket error that says the camera's address did not answer."""
    return code in _UNREACHABLE_ERRNOS


def codec_problems(source: SourceInfo, webrtc: bool) -> tuple[set[SourceProblem], set[SourceProblem]]:
    """(problems the run's codecs show, problems they rule out); what is not known yet is in neither.

    `webrtc`: our WebRTC is on (B-frames only matter to it; HLS carries them)."""
    found: set[SourceProblem] = set()
    cleared: set[SourceProblem] = set()
    (found if source.video.codec == "hevc" else cleared).add(SourceProblem.H265)
    if not webrtc:
        cleared.add(SourceProblem.BFRAMES)
    elif source.order_known:
        (found if source.reordered else cleared).add(SourceProblem.BFRAMES)
    return found, cleared
