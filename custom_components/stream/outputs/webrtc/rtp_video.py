"""A viewer's H.264 or H.265 frames sent as SRTP straight onto its peer connection's socket.

aiortc's own send loop builds an RtpPacket object per packet, writes its header extensions and awaits four layers
(DTLS, ICE transport, aioice connection, protocol) before `sendto`: nearly all of a viewer's CPU at ~430 packets/s
for a 4 Mbit/s camera. For passthrough video every header is the same but for marker, sequence number and
timestamp, and the only extension is the constant `mid`, so this loop packs 12 bytes and a precomputed extension per
packet, protects it with the DTLS transport's SRTP session and hands it to the nominated candidate pair's socket,
a whole frame at a time. H.264 is packetized by aiortc's own packetizer (RFC 6184), H.265 by ours (rtp_h265.py,
RFC 7798: aiortc has none), once per frame for all the viewers of a camera (`RecentPayloads`).

It stands in for one sender's RTP loop and retransmissions (`RTCRtpSender._run_rtp`, `_retransmit`); aiortc keeps
negotiation, RTCP (sender reports, NACK/PLI handling) and `stop`. It keeps the sender-report counters aiortc's RTCP
loop reads and the transport's byte counters its stats read. Those are private attributes of aiortc 1.16 (the
version requirements.txt pins and the tests run); `attach_direct_video_sender` checks they are there and otherwise
leaves the sender to aiortc (the session then feeds it through a track), so a newer aiortc costs CPU, not video.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import struct
from typing import Any

from aiortc import RTCDtlsTransport, RTCRtpSender
from aiortc.codecs.h264 import H264Encoder
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpSendParameters
from aiortc.rtcrtpsender import random_sequence_number
from aiortc.rtp import pack_header_extensions
from aiortc.utils import random32

from ..live import LiveVideoFrame, LiveViewer
from .h265 import H265_MIME_TYPE
from .rtp_cost import ntp_time_now
from .rtp_h265 import H265Packetizer
from .tracks import VIDEO_FRAME_STEP, RtpTimeline

_LOGGER = logging.getLogger(__name__)

MID_EXTENSION_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
_RTP_VERSION = 0x80
_EXTENSION_BIT = 0x10
_MARKER_BIT = 0x80
_HEADER = struct.Struct("!BBHII")  # first byte, marker | payload type, sequence number, timestamp, SSRC
_SEQUENCE = struct.Struct("!H")
# Packets kept for retransmission. aiortc keeps 128, but a passthrough keyframe alone can be 100-400 packets and a
# lost one cannot be replaced (the camera sends the next keyframe when it sends it), so NACKs for the start of a
# keyframe must still find it: 512 is ~1.2 s at 4 Mbit/s, ~0.7 MB per viewer.
HISTORY_SIZE = 512

# aiortc 1.16 private attributes this module reads or writes, by owner.
_SENDER = "_RTCRtpSender__"
_SENDER_ATTRIBUTES = ("rtp_started", "rtp_exited", "ntp_timestamp", "rtp_timestamp", "octet_count", "packet_count")
_DTLS = "_RTCDtlsTransport__"
_DTLS_ATTRIBUTES = ("tx_bytes", "tx_packets")


def check_aiortc_internals(sender: RTCRtpSender) -> None:
    """Raise if `sender` (and its transports) lack an attribute this module relies on."""
    sender_vars = vars(sender)
    missing = [name for name in _SENDER_ATTRIBUTES if _SENDER + name not in sender_vars]
    missing += [name for name in ("_ssrc", "_rtx_ssrc", "_enabled") if name not in sender_vars]
    dtls_vars = vars(sender.transport)
    missing += [name for name in _DTLS_ATTRIBUTES if _DTLS + name not in dtls_vars]
    missing += [name for name in ("_tx_srtp",) if name not in dtls_vars]
    connection = getattr(sender.transport.transport, "_connection", None)
    if connection is None or not hasattr(connection, "_nominated"):
        missing.append("ICE connection's _nominated")
    if missing:
        raise RuntimeError(f"aiortc internals moved, cannot send video directly: {', '.join(missing)}")


def _mid_extension(mid: str | None, extension_id: int | None) -> bytes:
    """The RTP header extension block carrying `mid` (RFC 8285, as aiortc packs it), empty when not negotiated."""
    if mid is None or extension_id is None:
        return b""
    profile, value = pack_header_extensions([(extension_id, mid.encode())])
    return struct.pack("!HH", profile, len(value) // 4) + value


class RecentPayloads:
    """The RTP payloads of the last frames packetized, for the other sessions sending the same frame: every viewer of
    a camera gets the same frame objects from the live feed, so a frame is packetized once, not once per viewer.
    Looked up by identity; the frames are kept referenced while cached, so an id is never reused meanwhile."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[int, tuple[LiveVideoFrame, list[bytes]]] = {}

    def get(self, frame: LiveVideoFrame) -> list[bytes] | None:
        entry = self._entries.get(id(frame))
        return entry[1] if entry is not None and entry[0] is frame else None

    def put(self, frame: LiveVideoFrame, payloads: list[bytes]) -> None:
        if len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]  # the oldest (dicts keep insertion order)
        self._entries[id(frame)] = (frame, payloads)


# Enough for the frames of many cameras that arrive while one frame is still being sent to each of its viewers.
_RECENT_PAYLOADS = RecentPayloads(64)


class DirectVideoSender:
    """Sends one viewer's frames for one aiortc RTCRtpSender (see the module docstring); `attach` wires it in."""

    def __init__(self, sender: RTCRtpSender, viewer: LiveViewer) -> None:
        self._sender = sender
        self._sender_vars: dict[str, Any] = vars(sender)
        self._viewer = viewer
        self._timeline = RtpTimeline(step=VIDEO_FRAME_STEP)
        self._timestamp_origin = random32()
        self._sequence = random_sequence_number()
        self._rtx_sequence = random_sequence_number()
        self._payload_type = 0
        self._rtx_payload_type: int | None = None
        self._first_byte = _RTP_VERSION
        self._extension = b""
        self._history: list[bytes | None] = [None] * HISTORY_SIZE  # unprotected packets, by sequence number
        self._h265: H265Packetizer | None = None  # set when H.265 was negotiated

    def attach(self) -> None:
        """Take over the sender's RTP loop and retransmissions; learn the negotiated parameters when it starts."""
        check_aiortc_internals(self._sender)
        start = self._sender.send

        async def send(parameters: RTCRtpSendParameters) -> None:
            self._configure(parameters)
            await start(parameters)

        self._sender.send = send  # type: ignore[method-assign]
        self._sender._run_rtp = self._run  # type: ignore[method-assign]
        self._sender._retransmit = self._retransmit  # type: ignore[method-assign]

    def _configure(self, parameters: RTCRtpSendParameters) -> None:
        codec = parameters.codecs[0]
        if codec.payloadType is None:  # aiortc always assigns one when it negotiates
            raise ValueError("The negotiated video codec has no payload type")
        self._payload_type = codec.payloadType
        self._h265 = H265Packetizer() if codec.mimeType.lower() == H265_MIME_TYPE.lower() else None
        self._rtx_payload_type = next(
            (
                rtx.payloadType
                for rtx in parameters.codecs
                if rtx.mimeType.lower() == "video/rtx" and rtx.parameters.get("apt") == codec.payloadType
            ),
            None,
        )
        mid_id = next((ext.id for ext in parameters.headerExtensions if ext.uri == MID_EXTENSION_URI), None)
        self._extension = _mid_extension(parameters.muxId or None, mid_id)
        self._first_byte = _RTP_VERSION | (_EXTENSION_BIT if self._extension else 0)

    async def _run(self, codec: RTCRtpCodecParameters) -> None:
        """aiortc starts this once DTLS is up; it cancels it on stop and then waits for `rtp_exited`."""
        del codec  # the negotiated one, already known from the parameters
        self._sender_vars[_SENDER + "rtp_started"].set()
        try:
            while (frame := await self._viewer.next_video()) is not None:
                if self._sender._enabled:
                    self.send_frame(frame)
        except ConnectionError:
            pass  # the transport closed: the session ends through its connection state
        except Exception:
            _LOGGER.exception("WebRTC video sender failed")
        finally:
            self._sender_vars[_SENDER + "rtp_exited"].set()

    def send_frame(self, frame: LiveVideoFrame) -> int:
        """Packetize, protect and send one frame; its RTP timestamp."""
        timestamp = (self._timestamp_origin + self._timeline.rebase(frame.run, frame.pts)) & 0xFFFFFFFF
        payloads = _RECENT_PAYLOADS.get(frame)
        if payloads is None:
            if self._h265 is not None:
                payloads = self._h265.packetize(frame.data)
            else:
                payloads = H264Encoder._packetize(H264Encoder._split_bitstream(frame.data))
            _RECENT_PAYLOADS.put(frame, payloads)
        if not payloads:
            return timestamp
        pack = _HEADER.pack
        first_byte, extension, ssrc = self._first_byte, self._extension, self._sender._ssrc
        payload_type, last = self._payload_type, len(payloads) - 1
        sequence, history, octets = self._sequence, self._history, 0
        packets = []
        for index, payload in enumerate(payloads):
            marker = _MARKER_BIT if index == last else 0
            packet = b"".join((pack(first_byte, marker | payload_type, sequence, timestamp, ssrc), extension, payload))
            history[sequence % HISTORY_SIZE] = packet
            packets.append(packet)
            octets += len(payload)
            sequence = (sequence + 1) & 0xFFFF
        self._sequence = sequence
        self._send(packets)
        # What aiortc's RTCP loop puts in the sender reports (the NTP/RTP pair lets the browser sync audio to video).
        sender_vars = self._sender_vars
        sender_vars[_SENDER + "ntp_timestamp"] = ntp_time_now()
        sender_vars[_SENDER + "rtp_timestamp"] = timestamp
        sender_vars[_SENDER + "octet_count"] += octets
        sender_vars[_SENDER + "packet_count"] += len(packets)
        return timestamp

    def _send(self, packets: list[bytes]) -> None:
        dtls: RTCDtlsTransport = self._sender.transport
        if dtls.state != "connected":
            raise ConnectionError("DTLS transport not connected")
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            raise ConnectionError("No nominated ICE candidate pair")
        protect, sendto, address = dtls._tx_srtp.protect, pair.protocol.transport.sendto, pair.remote_addr
        sent = 0
        for packet in packets:
            protected = protect(packet)
            sendto(protected, address)
            sent += len(protected)
        dtls_vars: dict[str, Any] = vars(dtls)
        dtls_vars[_DTLS + "tx_bytes"] += sent
        dtls_vars[_DTLS + "tx_packets"] += len(packets)

    async def _retransmit(self, sequence_number: int) -> None:
        """Resend a packet the browser reported lost (NACK), wrapped as RTX when negotiated (RFC 4588)."""
        packet = self._history[sequence_number % HISTORY_SIZE]
        if packet is None or _SEQUENCE.unpack_from(packet, 2)[0] != sequence_number:
            return  # older than the history
        if self._rtx_payload_type is not None:
            payload_start = _HEADER.size + len(self._extension)
            header = _HEADER.pack(
                self._first_byte,
                (packet[1] & _MARKER_BIT) | self._rtx_payload_type,
                self._rtx_sequence,
                struct.unpack_from("!I", packet, 4)[0],
                self._sender._rtx_ssrc,
            )
            packet = b"".join((header, self._extension, packet[2:4], packet[payload_start:]))
            self._rtx_sequence = (self._rtx_sequence + 1) & 0xFFFF
        with contextlib.suppress(ConnectionError):  # closing: nothing to resend on
            self._send([packet])


@functools.cache  # once per process and reason, not once per session
def _log_fallback(reason: str) -> None:
    _LOGGER.warning("%s; using aiortc's own RTP send loop (more CPU per viewer)", reason)


def attach_direct_video_sender(sender: RTCRtpSender, viewer: LiveViewer) -> bool:
    """Send `viewer`'s video through `sender` directly; False (aiortc's own loop needed) if aiortc moved."""
    try:
        DirectVideoSender(sender, viewer).attach()
    except RuntimeError as err:
        _log_fallback(str(err))
        return False
    return True
