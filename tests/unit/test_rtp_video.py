"""Unit tests of the direct video sender: the RTP packets it builds, as aiortc's own parser reads them, its
retransmissions, and the aiortc internals it relies on. Sending over a real connection is in tests/test_webrtc_*.py.
"""

from __future__ import annotations

import pytest
from aiortc import RTCRtpSender
from aiortc.codecs.h264 import h264_depayload
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx

from custom_components.stream.outputs.live import LiveVideoFrame, LiveViewer
from custom_components.stream.outputs.webrtc.rtp_video import (
    MID_EXTENSION_URI,
    RecentPayloads,
    check_aiortc_internals,
)

from .rtp_support import CapturingSender

H264_PT = 102
RTX_PT = 103
MID_ID = 4
SPS = bytes.fromhex("6764001facd9405005bb011000000300100000030300f1831960")
PPS = bytes.fromhex("68ebe3cb22c0")
IDR = bytes.fromhex("658884") + bytes(range(256)) * 16  # 4 KiB: split into FU-A fragments
P_FRAME = bytes.fromhex("419a24") + b"\x22" * 200


def annexb(*units: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)


def parameters(rtx: bool = True, mid: bool = True) -> RTCRtpSendParameters:
    codecs = [
        RTCRtpCodecParameters(
            mimeType="video/H264", clockRate=90000, payloadType=H264_PT, parameters={"packetization-mode": "1"}
        )
    ]
    if rtx:
        rtx_parameters: dict[str, str | int | None] = {"apt": H264_PT}
        codecs.append(
            RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=RTX_PT, parameters=rtx_parameters)
        )
    extensions = [RTCRtpHeaderExtensionParameters(id=MID_ID, uri=MID_EXTENSION_URI)] if mid else []
    return RTCRtpSendParameters(codecs=codecs, headerExtensions=extensions, muxId="0")


def extension_map() -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(parameters())
    return extensions


def frames_of(packets: list[RtpPacket]) -> list[list[RtpPacket]]:
    frames: list[list[RtpPacket]] = [[]]
    for packet in packets:
        frames[-1].append(packet)
        if packet.marker:
            frames.append([])
    return frames[:-1]


async def test_frames_become_rtp_packets_that_aiortc_reads_back(sender: RTCRtpSender) -> None:
    direct = CapturingSender(sender, LiveViewer())
    direct._configure(parameters())
    keyframe = annexb(SPS, PPS, IDR)

    first = direct.send_frame(LiveVideoFrame(run=1, pts=0, keyframe=True, data=keyframe))
    second = direct.send_frame(LiveVideoFrame(run=1, pts=3000, keyframe=False, data=annexb(P_FRAME)))

    packets = [RtpPacket.parse(data, extension_map()) for data in direct.sent]
    assert all(len(data) <= 1300 + 12 + 8 for data in direct.sent)
    assert {(p.version, p.payload_type, p.ssrc, p.extensions.mid) for p in packets} == {(2, H264_PT, sender._ssrc, "0")}
    assert [(p.sequence_number - packets[0].sequence_number) & 0xFFFF for p in packets] == list(range(len(packets)))
    frames = frames_of(packets)
    assert len(frames) == 2
    assert len(frames[0]) > 3  # SPS+PPS aggregated, the IDR fragmented
    assert {p.timestamp for p in frames[0]} == {first}
    assert {p.timestamp for p in frames[1]} == {second}
    assert (second - first) & 0xFFFFFFFF == 3000
    depayloaded = [b"".join(h264_depayload(p.payload) for p in frame) for frame in frames]
    assert depayloaded == [keyframe, annexb(P_FRAME)]


async def test_without_a_negotiated_mid_the_header_has_no_extension(sender: RTCRtpSender) -> None:
    direct = CapturingSender(sender, LiveViewer())
    direct._configure(parameters(mid=False))

    direct.send_frame(LiveVideoFrame(run=1, pts=0, keyframe=False, data=annexb(P_FRAME)))

    assert direct.sent[0][0] & 0x10 == 0  # X bit
    assert RtpPacket.parse(direct.sent[0]).payload == P_FRAME


async def test_a_lost_packet_is_resent_as_rtx_with_its_original_sequence_number(sender: RTCRtpSender) -> None:
    direct = CapturingSender(sender, LiveViewer())
    direct._configure(parameters())
    direct.send_frame(LiveVideoFrame(run=1, pts=0, keyframe=True, data=annexb(SPS, PPS, IDR)))
    original = RtpPacket.parse(direct.sent[2], extension_map())
    sent_before = len(direct.sent)

    await direct._retransmit(original.sequence_number)
    await direct._retransmit((original.sequence_number + 1000) & 0xFFFF)  # never sent: nothing to resend

    assert len(direct.sent) == sent_before + 1
    rtx = RtpPacket.parse(direct.sent[-1], extension_map())
    assert (rtx.payload_type, rtx.ssrc) == (RTX_PT, sender._rtx_ssrc)
    restored = unwrap_rtx(rtx, payload_type=H264_PT, ssrc=sender._ssrc)
    assert (restored.sequence_number, restored.timestamp, restored.marker, restored.payload) == (
        original.sequence_number,
        original.timestamp,
        original.marker,
        original.payload,
    )


async def test_without_rtx_a_lost_packet_is_resent_as_it_was(sender: RTCRtpSender) -> None:
    direct = CapturingSender(sender, LiveViewer())
    direct._configure(parameters(rtx=False))
    direct.send_frame(LiveVideoFrame(run=1, pts=0, keyframe=False, data=annexb(P_FRAME)))

    await direct._retransmit(RtpPacket.parse(direct.sent[0]).sequence_number)

    assert direct.sent == [direct.sent[0], direct.sent[0]]


async def test_aiortc_reports_what_was_sent(sender: RTCRtpSender) -> None:
    """The counters aiortc's sender reports and stats read follow the frames sent."""
    direct = CapturingSender(sender, LiveViewer())
    direct._configure(parameters())
    direct.send_frame(LiveVideoFrame(run=1, pts=0, keyframe=True, data=annexb(SPS, PPS, IDR)))
    direct.send_frame(LiveVideoFrame(run=1, pts=3000, keyframe=False, data=annexb(P_FRAME)))
    payload_bytes = sum(len(RtpPacket.parse(data).payload) for data in direct.sent)

    stats = [s for s in (await sender.getStats()).values() if s.type == "outbound-rtp"]

    assert [(s.packetsSent, s.bytesSent) for s in stats] == [(len(direct.sent), payload_bytes)]


async def test_the_aiortc_internals_the_sender_relies_on_are_there(sender: RTCRtpSender) -> None:
    check_aiortc_internals(sender)

    del vars(sender)["_RTCRtpSender__packet_count"]
    with pytest.raises(RuntimeError, match="packet_count"):
        check_aiortc_internals(sender)


async def test_a_whole_large_keyframe_stays_available_for_retransmission(sender: RTCRtpSender) -> None:
    direct = CapturingSender(sender, LiveViewer())
    direct._configure(parameters(rtx=False))
    large_idr = bytes.fromhex("658884") + bytes(range(256)) * 1200  # 300 KiB: ~240 packets
    direct.send_frame(LiveVideoFrame(run=1, pts=0, keyframe=True, data=annexb(SPS, PPS, large_idr)))
    direct.send_frame(LiveVideoFrame(run=1, pts=3000, keyframe=False, data=annexb(P_FRAME)))
    first = direct.sent[0]

    await direct._retransmit(RtpPacket.parse(first).sequence_number)

    assert len(direct.sent) > 200
    assert direct.sent[-1] == first


async def test_two_sessions_sending_the_same_frame_share_one_packetization(sender: RTCRtpSender) -> None:
    """Every viewer of a camera gets the same frame object: its payloads are made once, by identity."""
    cache = RecentPayloads(2)
    frame = LiveVideoFrame(run=1, pts=0, keyframe=False, data=annexb(P_FRAME))
    equal_but_other = LiveVideoFrame(run=1, pts=0, keyframe=False, data=annexb(P_FRAME))
    cache.put(frame, [b"payload"])

    assert cache.get(frame) == [b"payload"]
    assert cache.get(equal_but_other) is None
    cache.put(equal_but_other, [b"other"])
    cache.put(LiveVideoFrame(run=1, pts=3000, keyframe=False, data=b""), [])
    assert cache.get(frame) is None  # the oldest went
    assert cache.get(equal_but_other) == [b"other"]

    first, second = CapturingSender(sender, LiveViewer()), CapturingSender(sender, LiveViewer())
    for direct in (first, second):
        direct._configure(parameters())
        direct.send_frame(frame)
    assert [RtpPacket.parse(p).payload for p in first.sent] == [RtpPacket.parse(p).payload for p in second.sent]
