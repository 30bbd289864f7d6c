"""`check_offer`: browsers' offers pass; the ones aiortc would answer and then fail on in the background are refused
with their own code (the end-to-end version, through Home Assistant's websocket, is in tests/test_webrtc_faults.py)."""

from __future__ import annotations

import pytest
from aiortc.sdp import SessionDescription

from custom_components.stream.outputs.webrtc.errors import SessionError
from custom_components.stream.outputs.webrtc.offer import MAX_OFFER_BYTES, check_offer, decline_answer
from custom_components.stream.outputs.webrtc.provider import unsupported_reason
from custom_components.stream.source.description import SourceInfo, VideoSource
from tests.unit.test_webrtc_chromium_offer import CHROMIUM_SOFTWARE_H264_OFFER as CHROMIUM

FINGERPRINT = "a=fingerprint:sha-256 " + ":".join(["AB"] * 32)
AUDIO = "\r\n".join(
    [
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:AbCd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        FINGERPRINT,
        "a=setup:actpass",
        "a=mid:1",
        "a=recvonly",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:0 PCMU/8000",
        "",
    ]
)
DATA = "\r\n".join(
    [
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        "a=ice-ufrag:AbCd",
        "a=ice-pwd:abcdefghijklmnopqrstuvwx",
        FINGERPRINT,
        "a=setup:actpass",
        "a=mid:2",
        "a=sctp-port:5000",
        "",
    ]
)
CANDIDATE = "a=candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host generation 0\r\n"


def test_browser_offers_pass() -> None:
    assert check_offer(CHROMIUM).kinds == {"video"}
    with_audio_and_data = check_offer(CHROMIUM + AUDIO + DATA + CANDIDATE)
    assert with_audio_and_data.kinds == {"video", "audio"}
    assert with_audio_and_data.sdp == CHROMIUM + AUDIO + DATA + CANDIDATE
    # Firefox names the fingerprint once, for the whole session.
    session_level = CHROMIUM.replace(FINGERPRINT + "\r\n", "").replace("t=0 0\r\n", f"t=0 0\r\n{FINGERPRINT}\r\n")
    assert FINGERPRINT not in session_level.split("m=", 1)[1]
    assert check_offer(session_level).kinds == {"video"}


def test_audio_the_browser_does_not_receive_is_left_out() -> None:
    assert check_offer(CHROMIUM + AUDIO.replace("a=recvonly", "a=inactive")).kinds == {"video"}


@pytest.mark.parametrize(
    ("offer", "code"),
    [
        ("not sdp", "webrtc_offer_invalid"),
        (CHROMIUM.replace("m=video 9 UDP/TLS/RTP/SAVPF 96", "m=video 9 UDP/TLS/RTP/SAVPF 999"), "webrtc_offer_invalid"),
        (CHROMIUM.replace(FINGERPRINT, "a=x-none:1"), "webrtc_offer_no_fingerprint"),
        (CHROMIUM.replace("a=fingerprint:sha-256", "a=fingerprint:sha-1"), "webrtc_offer_no_fingerprint"),
        (CHROMIUM + AUDIO.replace(FINGERPRINT, "a=x-none:1"), "webrtc_offer_no_fingerprint"),
        (CHROMIUM.replace("a=setup:actpass", "a=x-none:1"), "webrtc_offer_invalid"),
        (CHROMIUM.replace("a=ice-ufrag:AbCd", "a=x-none:1"), "webrtc_offer_invalid"),
        (CHROMIUM.replace("m=video 9 ", "m=video 99999999999 "), "webrtc_offer_bad_port"),
        (CHROMIUM.replace("a=rtcp:9 ", "a=rtcp:65536 "), "webrtc_offer_bad_port"),
        (CHROMIUM + CANDIDATE.replace("54321", "99999"), "webrtc_offer_bad_port"),
        (CHROMIUM + CANDIDATE.replace("54321", "0"), "webrtc_offer_bad_port"),
        (CHROMIUM + CANDIDATE.replace("generation", "raddr 0.0.0.0 rport 70000 generation"), "webrtc_offer_bad_port"),
        (CHROMIUM + "a=x-padding:" + "x" * MAX_OFFER_BYTES + "\r\n", "webrtc_offer_too_large"),
        (CHROMIUM.split("m=video")[0] + AUDIO, "webrtc_offer_no_video"),
        (CHROMIUM.replace("a=recvonly", "a=sendonly"), "webrtc_offer_no_video"),
        (CHROMIUM.replace("a=recvonly", "a=inactive"), "webrtc_offer_no_video"),
        (CHROMIUM.replace("m=video 9 ", "m=video 0 "), "webrtc_offer_no_video"),
        (CHROMIUM.replace(" H264/", " VP9/"), "webrtc_offer_no_video"),
    ],
)
def test_offers_aiortc_cannot_carry_out_are_refused(offer: str, code: str) -> None:
    with pytest.raises(SessionError) as raised:
        check_offer(offer)
    assert raised.value.code == code, raised.value


def test_an_offer_receiving_h265_only_passes_with_its_video_codecs() -> None:
    checked = check_offer(CHROMIUM.replace(" H264/", " H265/"))

    assert "video" in checked.kinds
    assert {codec.mimeType for codec in checked.video_codecs} == {"video/VP8", "video/H265", "video/rtx"}


def test_the_declining_answer_rejects_every_section_in_the_offers_order() -> None:
    offer = CHROMIUM + AUDIO + DATA

    answer = SessionDescription.parse(decline_answer(offer))

    assert [(media.kind, media.port, media.direction, media.rtp.muxId) for media in answer.media] == [
        ("video", 0, "inactive", "0"),
        ("audio", 0, "inactive", "1"),
        ("application", 0, "inactive", "2"),
    ]


@pytest.mark.parametrize(
    ("codec", "reordered", "refused"),
    [("h264", False, False), ("hevc", False, False), ("h264", True, True), ("hevc", True, True)],
)
def test_b_frames_are_refused_for_both_codecs(codec: str, reordered: bool, refused: bool) -> None:
    source = SourceInfo(1, VideoSource(codec, 320, 240, None), None, reordered=reordered, order_known=True)

    reason = unsupported_reason(source)

    assert (reason is not None) == refused
    assert reason is None or "B-frames" in reason


def test_a_bundle_only_section_with_port_0_is_not_rejected() -> None:
    """Max-bundle offers (GStreamer's webrtcbin) give every section but the first port 0 and `a=bundle-only`."""
    bundled_audio = AUDIO.replace("m=audio 9 ", "m=audio 0 ").replace("a=mid:1", "a=mid:1\r\na=bundle-only")

    assert check_offer(CHROMIUM + bundled_audio).kinds == {"video", "audio"}
    assert check_offer(CHROMIUM + AUDIO.replace("m=audio 9 ", "m=audio 0 ")).kinds == {"video"}
