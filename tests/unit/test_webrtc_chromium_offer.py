"""Our answer to the H.264 part of an offer from Chromium without hardware H.264 decoding (captured from the headless
Chromium of tests/test_webrtc_browser.py): no High profile in it, High 4:4:4 Predictive numbered below 96."""

from __future__ import annotations

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import SessionDescription

from custom_components.stream.outputs.webrtc.codecs import h264_capability, use_camera_level

CHROMIUM_SOFTWARE_H264_OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 108 109 116 117 41 42",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:AbCd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
        "a=setup:actpass",
        "a=mid:0",
        "a=recvonly",
        "a=rtcp-mux",
        "a=rtpmap:96 VP8/90000",
        "a=rtpmap:97 rtx/90000",
        "a=fmtp:97 apt=96",
        "a=rtpmap:102 H264/90000",
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
        "a=rtpmap:103 rtx/90000",
        "a=fmtp:103 apt=102",
        "a=rtpmap:108 H264/90000",
        "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        "a=rtpmap:109 rtx/90000",
        "a=fmtp:109 apt=108",
        "a=rtpmap:116 H264/90000",
        "a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
        "a=rtpmap:117 rtx/90000",
        "a=fmtp:117 apt=116",
        "a=rtpmap:41 H264/90000",
        "a=fmtp:41 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=f4001f",
        "a=rtpmap:42 rtx/90000",
        "a=fmtp:42 apt=41",
        "",
    ]
)


async def answer_codecs(camera_profile: str) -> list[tuple[int | None, str, str]]:
    """(payload type, codec, profile-level-id) of what our answer sends for a camera with this profile."""
    pc = RTCPeerConnection()
    try:
        transceiver = pc.addTransceiver("video", direction="sendonly")
        transceiver.setCodecPreferences(h264_capability(camera_profile))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=CHROMIUM_SOFTWARE_H264_OFFER, type="offer"))
        use_camera_level(transceiver._codecs, camera_profile)  # as the session does
        answer = await pc.createAnswer()
    finally:
        await pc.close()
    [media] = SessionDescription.parse(answer.sdp).media
    return [
        (codec.payloadType, codec.mimeType, str(codec.parameters.get("profile-level-id", "")))
        for codec in media.rtp.codecs
    ]


async def test_a_high_profile_camera_goes_out_as_high_444_under_the_offers_own_payload_type() -> None:
    codecs = await answer_codecs("64001e")

    # The offer's numbers (41/42): under numbers of our own Chromium receives the packets and decodes nothing.
    payload_type, mime_type, profile = codecs[0]
    assert (payload_type, mime_type) == (41, "video/H264")
    # High 4:4:4 Predictive; the level is the camera's or, when another session registered it first, the offer's.
    assert profile in {"f4001e", "f4001f"}
    assert (42, "video/rtx", "") in codecs


async def test_a_main_profile_camera_goes_out_as_main() -> None:
    codecs = await answer_codecs("4d001f")

    assert codecs[0] == (116, "video/H264", "4d001f")
