"""A direct video sender that keeps its packets, for the RTP sender tests (with the `sender` fixture)."""

from __future__ import annotations

from aiortc import RTCRtpSender

from custom_components.stream.outputs.live import LiveViewer
from custom_components.stream.outputs.webrtc.rtp_video import DirectVideoSender


class CapturingSender(DirectVideoSender):
    """Keeps the packets instead of protecting and sending them (no DTLS/ICE in a unit test)."""

    def __init__(self, sender: RTCRtpSender, viewer: LiveViewer) -> None:
        super().__init__(sender, viewer)
        self.sent: list[bytes] = []

    def _send(self, packets: list[bytes]) -> None:
        self.sent += packets
