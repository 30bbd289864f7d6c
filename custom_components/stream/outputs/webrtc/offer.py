"""A browser's offer, checked before anything of it reaches aiortc.

aiortc answers many offers it cannot carry out and fails later, in tasks of its own, where the error is lost and
"Task exception was never retrieved" lands in Home Assistant's log: an offer without a DTLS fingerprint answered,
then an `AssertionError` when the DTLS handshake starts; one without `a=setup`, an `AttributeError` there; ports out of
range, an `OverflowError` when ICE first sends. `check_offer` refuses each with a code of its own, at once:

| code | the offer |
|---|---|
| `webrtc_offer_too_large` | is longer than `MAX_OFFER_BYTES` |
| `webrtc_offer_invalid` | is not SDP aiortc can read, or lacks ICE credentials or a DTLS role (`a=setup`) |
| `webrtc_offer_no_fingerprint` | has a media section without a DTLS fingerprint of an algorithm aiortc checks |
| `webrtc_offer_bad_port` | names a port outside 0-65535 (media, RTCP) or 1-65535 (ICE candidate) |
| `webrtc_offer_no_video` | has no video section the browser receives H.264 or H.265 on |
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from aiortc.rtcdtlstransport import X509_DIGEST_ALGORITHMS
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.sdp import MediaDescription, SessionDescription

from .errors import SessionError

# A browser's offer is a few kilobytes: Chromium's with audio, video and every candidate is about 6 KB, and even one
# with every codec, extension and candidate a browser has stays under 20 KB. 64 KiB leaves room for that three times
# over while bounding what one offer may cost to parse and hold (aiortc's parser keeps every line it reads).
MAX_OFFER_BYTES = 64 * 1024
MAX_PORT = 65535
RTP_KINDS = ("audio", "video")
RECEIVING = (None, "recvonly", "sendrecv")  # directions in which the browser receives (none given: sendrecv)
VIDEO_CODECS = ("video/h264", "video/h265")  # what we send (passthrough): the camera's own


@dataclass(frozen=True, slots=True)
class CheckedOffer:
    """An offer that passed `check_offer`, the media kinds the browser receives, and the codecs of the first video
    section it receives on."""

    sdp: str
    kinds: frozenset[str]
    video_codecs: tuple[RTCRtpCodecParameters, ...] = ()


def check_offer(sdp: str) -> CheckedOffer:
    """The offer if aiortc can answer it and carry the session out; otherwise `SessionError` saying why."""
    if len(sdp.encode(errors="replace")) > MAX_OFFER_BYTES:
        raise SessionError(
            "webrtc_offer_too_large", f"The offer is longer than {MAX_OFFER_BYTES // 1024} KiB (a browser's is a few)"
        )
    if not sdp.startswith("v=0"):  # what every SDP starts with; aiortc reads any text as SDP without media
        raise SessionError("webrtc_offer_invalid", "The offer is not SDP (it does not start with v=0)")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as err:  # aiortc's parser raises whatever the text makes it trip over
        raise SessionError("webrtc_offer_invalid", f"The offer is not valid SDP ({type(err).__name__})") from None
    for index, media in enumerate(description.media):
        _check_ports(index, media)
        if media.kind in RTP_KINDS:
            _check_transport(index, media)
    bundle_only = _bundle_only_sections(sdp)
    receiving = [media for index, media in enumerate(description.media) if _receives(media, index in bundle_only)]
    video = next((media for media in receiving if media.kind == "video"), None)
    if video is None:
        raise SessionError("webrtc_offer_no_video", "The offer has no video section that receives H.264 or H.265")
    return CheckedOffer(sdp, frozenset(media.kind for media in receiving), tuple(video.rtp.codecs))


def _check_ports(index: int, media: MediaDescription) -> None:
    for port in (media.port, media.rtcp_port):
        if port is not None and not 0 <= port <= MAX_PORT:
            raise SessionError("webrtc_offer_bad_port", f"Media section {index} names port {port}")
    for candidate in media.ice_candidates:
        check_candidate_ports(candidate.port, candidate.relatedPort, "webrtc_offer_bad_port")


def check_candidate_ports(port: int, related_port: int | None, code: str) -> None:
    """An ICE candidate's port must be one ICE can send to (its related port is only informative, but in range)."""
    if not 1 <= port <= MAX_PORT or (related_port is not None and not 0 <= related_port <= MAX_PORT):
        raise SessionError(code, f"ICE candidate with port {port} (related port {related_port})")


def _check_transport(index: int, media: MediaDescription) -> None:
    """What aiortc's ICE and DTLS transports need, or they fail after the answer."""
    ice = media.ice
    if ice is None or not ice.usernameFragment or not ice.password:
        raise SessionError("webrtc_offer_invalid", f"Media section {index} has no ICE credentials (a=ice-ufrag/pwd)")
    dtls = media.dtls
    if dtls is None:  # aiortc drops the DTLS parameters (fingerprints too) of a section without a=setup
        raise SessionError("webrtc_offer_invalid", f"Media section {index} has no DTLS role (a=setup)")
    if not any(fingerprint.algorithm.lower() in X509_DIGEST_ALGORITHMS for fingerprint in dtls.fingerprints):
        raise SessionError(
            "webrtc_offer_no_fingerprint",
            f"Media section {index} has no DTLS fingerprint (a=fingerprint with {', '.join(X509_DIGEST_ALGORITHMS)})",
        )


def _bundle_only_sections(sdp: str) -> set[int]:
    """The indexes of the media sections marked `a=bundle-only` (RFC 8843): their port 0 does not reject them (a
    max-bundle offer, as GStreamer's webrtcbin makes, has one on every section but the first)."""
    sections = sdp.split("\nm=")[1:]
    return {index for index, section in enumerate(sections) if "\na=bundle-only" in section}


def _receives(media: MediaDescription, bundle_only: bool = False) -> bool:
    """A section the browser receives on: not rejected (port 0 without bundle-only), and for video, with H.264 or
    H.265 among its codecs."""
    rejected = media.port == 0 and not bundle_only
    if media.kind not in RTP_KINDS or rejected or media.direction not in RECEIVING:
        return False
    return media.kind != "video" or any(codec.mimeType.lower() in VIDEO_CODECS for codec in media.rtp.codecs)


def decline_answer(sdp: str) -> str:
    """An answer that rejects every media section of a checked offer (port 0, RFC 3264 section 6): the browser's
    connection ends up with nothing to receive and no error, and nothing is set up on our side."""
    description = SessionDescription.parse(sdp)
    # Transport attributes no transport will use: some peers (aiortc among them) refuse an answer without them.
    transport = [
        f"a=ice-ufrag:{secrets.token_hex(4)}",
        f"a=ice-pwd:{secrets.token_hex(12)}",
        "a=fingerprint:sha-256 " + ":".join(f"{byte:02X}" for byte in secrets.token_bytes(32)),
        "a=setup:active",
    ]
    lines = ["v=0", "o=- 0 1 IN IP4 0.0.0.0", "s=-", "t=0 0"]
    for media in description.media:
        first = media.rtp.codecs[0].payloadType if media.kind in RTP_KINDS and media.rtp.codecs else None
        formats = str(first if first is not None else (media.fmt[0] if media.fmt else 0))
        lines += [f"m={media.kind} 0 {media.profile} {formats}", "c=IN IP4 0.0.0.0", *transport]
        if media.rtp.muxId:
            lines.append(f"a=mid:{media.rtp.muxId}")
        if media.kind in RTP_KINDS:
            lines.append("a=rtcp-mux")
            lines += _first_codec(media)
        lines.append("a=inactive")
    return "\r\n".join(lines) + "\r\n"


def _first_codec(media: MediaDescription) -> list[str]:
    """The rtpmap and fmtp of the section's first codec: what a rejected section names (some peers check it)."""
    if not media.rtp.codecs:
        return []
    codec = media.rtp.codecs[0]
    lines = [f"a=rtpmap:{codec.payloadType} {codec}"]
    if codec.parameters:
        fmtp = ";".join(key if value is None else f"{key}={value}" for key, value in codec.parameters.items())
        lines.append(f"a=fmtp:{codec.payloadType} {fmtp}")
    return lines
