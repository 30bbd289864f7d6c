"""Per-packet savings in aiortc's own send path, which still sends every audio packet, and video too when the direct
sender (rtp_video.py) cannot attach; there it is nearly all of a viewer's CPU (~430 RTP packets/s for a 4 Mbit/s
camera, each serialized and SRTP-protected in Python).

- The answer declines the abs-send-time header extension. It feeds the browser's bandwidth estimate, which a
  passthrough sender cannot act on (there is no encoder to slow down), and it costs an extension write per
  packet. `mid` stays: browsers route bundled media by it.
- aiortc's NTP clock (read twice per packet: abs-send-time and the sender report's reference) goes through
  timezone-aware datetime arithmetic; the same value from `time.time_ns()` costs a fifth of that.
"""

from __future__ import annotations

import time

import aiortc.clock

ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

_NTP_EPOCH_OFFSET_NS = 2_208_988_800 * 1_000_000_000  # 1900-01-01 to 1970-01-01
_NS_PER_S = 1_000_000_000


def decline_unused_extensions(offer_sdp: str) -> str:
    """The offer without the header extensions we never want to send (an answer only echoes offered ones)."""
    lines = offer_sdp.splitlines(keepends=True)
    return "".join(line for line in lines if not (line.startswith("a=extmap:") and ABS_SEND_TIME_URI in line))


def ntp_time_now() -> int:
    """The current time as a 64-bit NTP timestamp (32.32 fixed point), what aiortc.clock.current_ntp_time returns."""
    since_1900 = time.time_ns() + _NTP_EPOCH_OFFSET_NS
    seconds, nanoseconds = divmod(since_1900, _NS_PER_S)
    return (seconds << 32) | (nanoseconds << 32) // _NS_PER_S


def install_fast_clock() -> None:
    """Make aiortc read the NTP clock through `ntp_time_now` (process-wide; same values, idempotent)."""
    aiortc.clock.current_ntp_time = ntp_time_now
