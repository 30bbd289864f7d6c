"""Which RTP codecs a session sends: the camera's real H.264 profile or its H.265, G.711 and Opus as they are,
everything else as Opus.

aiortc only knows constrained baseline H.264 out of the box, so a High or Main profile camera would either be
refused by the browser's negotiation or sent under a wrong profile. The camera's profile is registered with aiortc
(once per distinct profile-level-id, for the whole process) and preferred for the session.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aiortc.rtp
from aiortc.codecs import CODECS
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecCapability, RTCRtpCodecParameters
from aiortc.sdp import H264Profile, parse_h264_profile_level_id

from ...source.description import AudioSource
from ..live.feed import PASSTHROUGH_AUDIO
from ..live.frames import VIDEO_CLOCK_RATE
from ..live.opus import OPUS_CLOCK_RATE

_DYNAMIC_PAYLOAD_TYPES = range(96, 128)
# Chromium numbers the codecs it offers beyond 96-127 from 35-63 (its H.264 High 4:4:4 Predictive among them).
# aiortc takes only 96-127 as dynamic and answers those codecs under its own numbers, which the browser then drops
# (packets received, no frame decoded): the answer must reuse the offer's numbers. aiortc reads this on every offer.
aiortc.rtp.DYNAMIC_PAYLOAD_TYPES = frozenset([*range(35, 64), *_DYNAMIC_PAYLOAD_TYPES])  # type: ignore[assignment]
# The profile-idc and profile-iop (hex) of the other profiles whose decoders decode a camera profile's streams.
_ALSO_DECODED_BY: dict[object, tuple[str, ...]] = {
    H264Profile.PROFILE_MAIN: ("6400", "f400"),
    H264Profile.PROFILE_CONSTRAINED_HIGH: ("6400", "f400"),
    H264Profile.PROFILE_HIGH: ("f400",),
}


class CodecRegistryFullError(Exception):
    """No dynamic RTP payload type is left for another H.264 profile."""


def _h264_parameters(profile_level_id: str) -> dict[str, str | int | None]:
    return {"level-asymmetry-allowed": "1", "packetization-mode": "1", "profile-level-id": profile_level_id}


def register_video_codec(parameters: dict[str, str | int | None], mime_type: str = "video/H264") -> None:
    """Add a video entry (and its retransmission) with these parameters to aiortc's codecs, unless it is there."""
    video = CODECS["video"]
    if any(codec.mimeType == mime_type and codec.parameters == parameters for codec in video):
        return
    used = {codec.payloadType for codecs in CODECS.values() for codec in codecs}
    free = [payload_type for payload_type in _DYNAMIC_PAYLOAD_TYPES if payload_type not in used]
    if len(free) < 2:
        raise CodecRegistryFullError(f"No RTP payload type left for {mime_type} {parameters}")
    video.append(
        RTCRtpCodecParameters(
            mimeType=mime_type,
            clockRate=VIDEO_CLOCK_RATE,
            payloadType=free[0],
            rtcpFeedback=[
                RTCRtcpFeedback(type="nack"),
                RTCRtcpFeedback(type="nack", parameter="pli"),
                RTCRtcpFeedback(type="goog-remb"),
            ],
            parameters=parameters,
        )
    )
    video.append(
        RTCRtpCodecParameters(
            mimeType="video/rtx", clockRate=VIDEO_CLOCK_RATE, payloadType=free[1], parameters={"apt": free[0]}
        )
    )


def h264_capability(profile_level_id: str) -> list[RTCRtpCodecCapability]:
    """The preferences for an H.264 camera with this SDP profile-level-id: the codec and its retransmission."""
    parameters = _h264_parameters(profile_level_id.lower())
    register_video_codec(parameters)
    profile = _profile(parameters)
    # Browsers decode the camera's stream under a profile whose decoders decode it too (H.264 Annex A): one without
    # hardware H.264 decoding offers no High profile at all (Chromium's software decoder advertises only Baseline,
    # Constrained Baseline, Main and High 4:4:4 Predictive), so a High camera goes out as High 4:4:4 Predictive.
    level = profile_level_id.lower()[4:]
    also = [_h264_parameters(prefix + level) for prefix in _ALSO_DECODED_BY.get(profile, ())]
    for other in also:
        register_video_codec(other)
    # aiortc pairs a browser's codec with the first registered one of the same profile, which may be an entry
    # with another level: every entry of an acceptable profile is acceptable, the camera's own entry first.
    h264 = [codec.parameters for codec in CODECS["video"] if codec.mimeType == "video/H264"]
    preferred = [parameters]
    for wanted in [profile, *(_profile(other) for other in also)]:
        preferred += [other for other in h264 if other not in preferred and _profile(other) == wanted]
    return [
        *(
            RTCRtpCodecCapability(mimeType="video/H264", clockRate=VIDEO_CLOCK_RATE, parameters=codec_parameters)
            for codec_parameters in preferred
        ),
        RTCRtpCodecCapability(mimeType="video/rtx", clockRate=VIDEO_CLOCK_RATE),
    ]


def use_camera_level(codecs: Sequence[RTCRtpCodecParameters], profile_level_id: str) -> None:
    """After negotiation: an H.264 entry of the camera's own profile says the camera's level. aiortc paired the
    browser's entry with the first registered one of that profile, which another camera may have registered with
    another level (so the answer depended on which cameras were opened before)."""
    camera = profile_level_id.lower()
    profile = _profile({"profile-level-id": camera})
    for codec in codecs:
        if codec.mimeType.lower() == "video/h264" and _profile(codec.parameters) == profile:
            codec.parameters = {**codec.parameters, "profile-level-id": camera}


def _profile(parameters: Mapping[str, str | int | None]) -> object:
    try:
        return parse_h264_profile_level_id(str(parameters.get("profile-level-id", "42e01f")))[0]
    except ValueError:
        return None


def audio_capability(audio: AudioSource) -> list[RTCRtpCodecCapability]:
    """G.711 and Opus go out as the camera sends them; anything else is transcoded to Opus once per camera."""
    passthrough = PASSTHROUGH_AUDIO.get(audio.codec)
    if passthrough is not None and passthrough[0] != "opus":
        name, clock_rate = passthrough
        return [RTCRtpCodecCapability(mimeType=f"audio/{name}", clockRate=clock_rate, channels=1)]
    # opus/48000/2 whatever the camera's channels (RFC 7587): the payload says how many there are.
    return [RTCRtpCodecCapability(mimeType="audio/opus", clockRate=OPUS_CLOCK_RATE, channels=2)]
