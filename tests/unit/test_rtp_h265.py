"""H.265 RTP packetization (RFC 7798) checked by a depacketizer written here from the RFC, independently of ours:
what the direct video sender sends for H.265 is depayloaded and compared NAL unit by NAL unit, byte for byte."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from aiortc import RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtp import RtpPacket

from custom_components.stream.outputs.live import LiveVideoFrame, LiveViewer
from custom_components.stream.outputs.webrtc.h265 import answer_parameters, negotiate
from custom_components.stream.outputs.webrtc.rtp_h265 import MAX_PAYLOAD, H265Packetizer, packetize_units
from custom_components.stream.remux.fmp4.parameter_sets import ParameterSets

from .rtp_support import CapturingSender

# A real 320x240 Main profile, level 2 (60) stream's parameter sets (x265).
VPS = bytes.fromhex("40010c01ffff01600000030090000003000003003c959809")
SPS = bytes.fromhex("42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003001e10")
PPS = bytes.fromhex("4401c172b42240")
SEI = bytes.fromhex("4e01") + bytes(range(40))
IDR = bytes.fromhex("2601") + bytes(range(256)) * 20  # IDR_W_RADL, 5 KiB: fragmented
CRA = bytes.fromhex("2a01") + b"\x33" * 600  # CRA_NUT: an IRAP picture too
TRAIL = bytes.fromhex("0201") + b"\x22" * 300  # TRAIL_R
AUD = bytes.fromhex("4601") + b"\x50"
H265_PT = 96
RTX_PT = 97


def annexb(*units: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)


# -- an RFC 7798 depacketizer, written from the RFC (sections 1.1.4, 4.4.1-4.4.3), without DONL --------------------


def _header_fields(header: bytes) -> tuple[int, int, int, int]:
    """F, Type, LayerId, TID of a 2-byte NAL unit or payload header (RFC 7798 section 1.1.4)."""
    value = int.from_bytes(header[:2])
    return value >> 15, (value >> 9) & 0x3F, (value >> 3) & 0x3F, value & 0x7


@dataclass
class Depacketizer:
    units: list[bytes]
    fragment: bytearray | None = None

    def push(self, payload: bytes) -> None:
        forbidden, kind, layer_id, temporal_id = _header_fields(payload)
        assert forbidden == 0
        assert temporal_id > 0
        if kind == 48:
            self._aggregation(payload[2:], layer_id, temporal_id)
        elif kind == 49:
            self._fragmentation(payload)
        else:
            assert kind < 48, f"payload type {kind} is not defined by RFC 7798"
            assert self.fragment is None, "a fragmented unit was interrupted"
            self.units.append(payload)

    def _aggregation(self, body: bytes, layer_id: int, temporal_id: int) -> None:
        assert self.fragment is None
        position, inner = 0, []
        while position < len(body):
            size = int.from_bytes(body[position : position + 2])
            assert size > 0
            assert position + 2 + size <= len(body)
            inner.append(body[position + 2 : position + 2 + size])
            position += 2 + size
        assert len(inner) >= 2, "an aggregation packet carries at least two units"
        # The payload header's LayerId and TID are the lowest of the aggregated units' (section 4.4.2).
        assert layer_id == min(_header_fields(unit)[2] for unit in inner)
        assert temporal_id == min(_header_fields(unit)[3] for unit in inner)
        self.units += inner

    def _fragmentation(self, payload: bytes) -> None:
        start, end, kind = payload[2] >> 7, (payload[2] >> 6) & 1, payload[2] & 0x3F
        assert not (start and end), "a unit in one fragment must go out unfragmented"
        if start:
            assert self.fragment is None
            # The unit's header: the payload header's F, LayerId and TID with the FU header's type.
            value = (int.from_bytes(payload[:2]) & 0x81FF) | (kind << 9)
            self.fragment = bytearray(value.to_bytes(2))
        assert self.fragment is not None, "a fragment without its start"
        self.fragment += payload[3:]
        if end:
            self.units.append(bytes(self.fragment))
            self.fragment = None


def depayload(payloads: list[bytes]) -> list[bytes]:
    depacketizer = Depacketizer([])
    for payload in payloads:
        assert len(payload) <= MAX_PAYLOAD
        depacketizer.push(payload)
    assert depacketizer.fragment is None
    return depacketizer.units


def payload_kinds(payloads: list[bytes]) -> list[int]:
    return [_header_fields(payload)[1] for payload in payloads]


# -- the packetizer ---------------------------------------------------------------------------------------------------


def test_parameter_sets_go_in_one_aggregation_packet_and_a_large_unit_in_fragments() -> None:
    units = [VPS, SPS, PPS, SEI, IDR]

    payloads = packetize_units(units)

    assert depayload(payloads) == units
    assert payload_kinds(payloads)[0] == 48  # VPS, SPS, PPS and the SEI together
    assert set(payload_kinds(payloads)[1:]) == {49}
    assert len(payloads) == 1 + -(-(len(IDR) - 2) // (MAX_PAYLOAD - 3))


def test_units_that_fit_go_as_single_unit_packets_or_aggregated_when_small() -> None:
    big = bytes.fromhex("0201") + b"\x44" * (MAX_PAYLOAD - 2)  # exactly the limit: one packet, as it is
    units = [TRAIL, big, TRAIL]

    payloads = packetize_units(units)

    assert depayload(payloads) == units
    assert payloads[1] == big
    assert payload_kinds(payloads) == [1, 1, 1]  # TRAIL_R each: nothing to aggregate a lone small unit with


def test_fragment_boundaries_at_every_size_around_the_limit() -> None:
    for size in range(MAX_PAYLOAD - 4, MAX_PAYLOAD + 4):
        unit = bytes.fromhex("0201") + bytes(index % 251 for index in range(size - 2))
        assert depayload(packetize_units([VPS, unit, PPS])) == [VPS, unit, PPS], size


def test_layer_and_temporal_ids_survive_fragmentation_and_aggregation() -> None:
    layered = bytes((0x02 | 0x01, 0x0B)) + b"\x55" * 3000  # LayerId 33, TID 3
    small_tid2 = bytes((0x02, 0x02)) + b"\x66" * 10
    small_tid4 = bytes((0x02, 0x04)) + b"\x77" * 10

    payloads = packetize_units([layered, small_tid4, small_tid2])

    assert depayload(payloads) == [layered, small_tid4, small_tid2]
    assert _header_fields(payloads[-1])[1:] == (48, 0, 2)


def test_an_irap_picture_without_parameter_sets_gets_the_last_ones_in_front() -> None:
    packetizer = H265Packetizer()
    with_sets = packetizer.packetize(annexb(AUD, VPS, SPS, PPS, IDR))
    trail = packetizer.packetize(annexb(AUD, TRAIL))
    cra = packetizer.packetize(annexb(AUD, CRA))

    assert depayload(with_sets) == [AUD, VPS, SPS, PPS, IDR]
    assert depayload(trail) == [AUD, TRAIL]
    assert depayload(cra) == [AUD, VPS, SPS, PPS, CRA]  # the delimiter stays first


# -- the sender: RTP headers around those payloads --------------------------------------------------------------------


def h265_parameters() -> RTCRtpSendParameters:
    rtx: dict[str, str | int | None] = {"apt": H265_PT}
    return RTCRtpSendParameters(
        codecs=[
            RTCRtpCodecParameters(mimeType="video/H265", clockRate=90000, payloadType=H265_PT),
            RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=RTX_PT, parameters=rtx),
        ]
    )


async def test_the_sender_sends_access_units_with_the_camera_clock_and_a_marker_on_the_last_packet(
    sender: RTCRtpSender,
) -> None:
    direct = CapturingSender(sender, LiveViewer())
    direct._configure(h265_parameters())
    keyframe = annexb(VPS, SPS, PPS, IDR)

    first = direct.send_frame(LiveVideoFrame(run=1, pts=0, keyframe=True, data=keyframe))
    second = direct.send_frame(LiveVideoFrame(run=1, pts=6000, keyframe=False, data=annexb(TRAIL)))

    packets = [RtpPacket.parse(data) for data in direct.sent]
    assert {packet.payload_type for packet in packets} == {H265_PT}
    assert [(p.sequence_number - packets[0].sequence_number) & 0xFFFF for p in packets] == list(range(len(packets)))
    assert [packet.marker for packet in packets] == [False] * (len(packets) - 2) + [True, True]
    assert {packet.timestamp for packet in packets[:-1]} == {first}
    assert packets[-1].timestamp == second
    assert (second - first) & 0xFFFFFFFF == 6000  # 15 fps on the 90 kHz clock, as the camera stamped them
    assert depayload([packet.payload for packet in packets[:-1]]) == [VPS, SPS, PPS, IDR]
    assert depayload([packets[-1].payload]) == [TRAIL]


# -- negotiation ------------------------------------------------------------------------------------------------------


def test_answer_parameters_describe_the_camera() -> None:
    parameters = answer_parameters(ParameterSets((VPS,), (SPS,), (PPS,)))

    assert parameters["profile-id"] == 1
    assert parameters["tier-flag"] == 0
    assert parameters["level-id"] == 60
    assert parameters["tx-mode"] == "SRST"
    assert base64.b64decode(str(parameters["sprop-vps"])) == VPS
    assert base64.b64decode(str(parameters["sprop-sps"])) == SPS
    assert base64.b64decode(str(parameters["sprop-pps"])) == PPS


def _offered(payload_type: int, profile: str, rtx: int) -> list[RTCRtpCodecParameters]:
    feedback = [RTCRtcpFeedback(type="nack"), RTCRtcpFeedback(type="transport-cc")]
    return [
        RTCRtpCodecParameters(
            mimeType="video/H265",
            clockRate=90000,
            payloadType=payload_type,
            rtcpFeedback=feedback,
            parameters={"level-id": "180", "profile-id": profile, "tier-flag": "0", "tx-mode": "SRST"},
        ),
        RTCRtpCodecParameters(mimeType="video/rtx", clockRate=90000, payloadType=rtx, parameters={"apt": payload_type}),
    ]


def test_the_answer_takes_the_offered_entry_of_the_cameras_profile_and_its_rtx() -> None:
    ours = RTCRtpCodecParameters(
        mimeType="video/H265", clockRate=90000, payloadType=100, rtcpFeedback=[RTCRtcpFeedback(type="nack")]
    )
    camera = answer_parameters(ParameterSets((VPS,), (SPS,), (PPS,)))
    offered = [*_offered(49, "2", 50), *_offered(51, "1", 52)]  # Main 10 first, as Chromium orders them

    codecs = negotiate(offered, ours, camera)

    assert codecs is not None
    assert [(codec.mimeType, codec.payloadType) for codec in codecs] == [("video/H265", 51), ("video/rtx", 52)]
    assert codecs[0].parameters == camera
    assert codecs[0].rtcpFeedback == [RTCRtcpFeedback(type="nack")]
    # Main 10 decoders decode Main: an offer with Main 10 only is answered under its number.
    main10_only = negotiate(_offered(49, "2", 50), ours, camera)
    assert main10_only is not None
    assert main10_only[0].payloadType == 49
    # A Main 10 camera is not sent to a Main-only receiver.
    assert negotiate(_offered(51, "1", 52), ours, {**camera, "profile-id": 2}) is None
