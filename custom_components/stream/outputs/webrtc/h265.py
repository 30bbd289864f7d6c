"""H.265 negotiation (RFC 7798 section 7): which of the browser's H.265 payload types the answer takes, and the
format parameters that describe the camera's stream.

aiortc knows no H.265. One `video/H265` entry without parameters is registered in its codec table, so that its
negotiation keeps the offer's H.265 sections; after `setRemoteDescription` the session replaces what aiortc chose
with `negotiate` (aiortc pairs codecs by name only, and would answer the first H.265 entry of the offer, whatever its
profile): the payload type of an offered profile that decodes the camera's, with the camera's own profile, tier and
level and its parameter sets, and that payload type's retransmission.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Sequence

from aiortc.rtcrtpparameters import RTCRtpCodecCapability, RTCRtpCodecParameters

from ...remux.fmp4.hevc import parse_sps
from ...remux.fmp4.parameter_sets import ParameterSets
from ..live.frames import VIDEO_CLOCK_RATE
from .codecs import register_video_codec

H265_MIME_TYPE = "video/H265"
RTX_MIME_TYPE = "video/rtx"
MAIN_PROFILE = 1
MAIN_10_PROFILE = 2
# The profiles whose decoders decode a camera profile's streams (Main 10 decoders decode Main, H.265 Annex A.3).
_DECODED_BY = {MAIN_PROFILE: (MAIN_PROFILE, MAIN_10_PROFILE)}

type Parameters = dict[str, str | int | None]


def h265_capability() -> list[RTCRtpCodecCapability]:
    """The session's video preferences for an H.265 camera: H.265 and its retransmission."""
    register_video_codec({}, H265_MIME_TYPE)
    return [
        RTCRtpCodecCapability(mimeType=H265_MIME_TYPE, clockRate=VIDEO_CLOCK_RATE),
        RTCRtpCodecCapability(mimeType=RTX_MIME_TYPE, clockRate=VIDEO_CLOCK_RATE),
    ]


def offers_h265(codecs: Sequence[RTCRtpCodecParameters]) -> bool:
    return any(codec.mimeType.lower() == H265_MIME_TYPE.lower() for codec in codecs)


def answer_parameters(parameter_sets: ParameterSets) -> Parameters:
    """The fmtp of what we send: the camera's profile, tier and level (from its SPS), single-session transmission,
    and its parameter sets (they also precede every IRAP picture in band)."""
    sps = parse_sps(parameter_sets.sps[0])
    parameters: Parameters = {
        "profile-id": sps.profile_idc,
        "tier-flag": sps.tier_flag,
        "level-id": sps.level_idc,
        "tx-mode": "SRST",
    }
    for name, units in (("vps", parameter_sets.vps), ("sps", parameter_sets.sps), ("pps", parameter_sets.pps)):
        parameters[f"sprop-{name}"] = ",".join(base64.b64encode(unit).decode() for unit in units)
    return parameters


def _profile_tier(parameters: Parameters) -> tuple[int, int]:
    """An offered entry's profile-id and tier-flag, with RFC 7798's defaults (Main, Main tier)."""
    try:
        return int(parameters.get("profile-id") or MAIN_PROFILE), int(parameters.get("tier-flag") or 0)
    except ValueError:
        return -1, -1


def negotiate(
    offered: Sequence[RTCRtpCodecParameters], ours: RTCRtpCodecParameters, camera: Parameters
) -> list[RTCRtpCodecParameters] | None:
    """The answer's video codecs for an H.265 camera (`camera`: `answer_parameters`), from the offer's codecs and
    our registered entry (its feedback types); None when no offered profile and tier decode the camera's stream."""
    profile, tier = _profile_tier(camera)
    decoders = _DECODED_BY.get(profile, (profile,))
    candidates = [
        codec
        for codec in offered
        if codec.mimeType.lower() == H265_MIME_TYPE.lower()
        and _profile_tier(codec.parameters)[0] in decoders
        and _profile_tier(codec.parameters)[1] >= tier
    ]
    if not candidates:
        return None
    # The camera's own profile first, then in the browser's order.
    chosen = min(candidates, key=lambda codec: _profile_tier(codec.parameters)[0] != profile)
    answer = copy.deepcopy(ours)
    answer.payloadType = chosen.payloadType
    answer.parameters = dict(camera)
    answer.rtcpFeedback = [feedback for feedback in ours.rtcpFeedback if feedback in chosen.rtcpFeedback]
    codecs = [answer]
    rtx = next(
        (
            codec
            for codec in offered
            if codec.mimeType.lower() == RTX_MIME_TYPE and codec.parameters.get("apt") == chosen.payloadType
        ),
        None,
    )
    if rtx is not None:
        codecs.append(copy.deepcopy(rtx))
    return codecs
