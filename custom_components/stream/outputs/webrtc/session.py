"""One WebRTC session: an aiortc peer connection sending one camera's live feed to one browser."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from aiortc import RTCIceServer, RTCPeerConnection, RTCRtpTransceiver, RTCSessionDescription
from aiortc.codecs import CODECS
from aiortc.exceptions import InvalidStateError
from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import candidate_from_sdp
from homeassistant.components.camera.webrtc import WebRTCSendMessage
from webrtc_models import RTCIceCandidateInit

from ...core import Stream
from ...source.description import SourceInfo
from ..live import LiveViewer
from .codecs import CodecRegistryFullError, audio_capability, h264_capability, use_camera_level
from .errors import SessionError
from .h265 import H265_MIME_TYPE, answer_parameters, h265_capability, negotiate
from .ice import limit_gathering_time, rtc_configuration
from .offer import CheckedOffer, check_candidate_ports
from .rtp_cost import decline_unused_extensions
from .rtp_video import attach_direct_video_sender
from .tracks import LiveAudioTrack, LiveVideoTrack

_LOGGER = logging.getLogger(__name__)


def _parse_candidate(candidate: RTCIceCandidateInit) -> RTCIceCandidate | None:
    """aiortc's candidate for a browser's; None for end-of-candidates."""
    text = candidate.candidate.strip()
    if not text:
        return None
    try:
        parsed = candidate_from_sdp(text.removeprefix("candidate:"))
    except Exception as err:  # aiortc asserts on malformed candidates
        raise SessionError("webrtc_candidate_invalid", f"Invalid ICE candidate ({type(err).__name__})") from None
    check_candidate_ports(parsed.port, parsed.relatedPort, "webrtc_candidate_invalid")
    parsed.sdpMid = candidate.sdp_mid
    parsed.sdpMLineIndex = candidate.sdp_m_line_index
    if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
        parsed.sdpMLineIndex = 0
    return parsed


def _video_capability(source: SourceInfo) -> list[RTCRtpCodecCapability]:
    """The session's video preferences: the camera's own H.264 profile, or H.265."""
    try:
        if source.video.codec == "hevc":
            return h265_capability()
        if source.video.profile_level_id is None:
            raise SessionError("webrtc_codec_unsupported", "The camera's H.264 profile is not known yet")
        return h264_capability(source.video.profile_level_id)
    except CodecRegistryFullError as err:
        raise SessionError("webrtc_codec_unsupported", str(err)) from None


def _answer_h265(video: RTCRtpTransceiver, offer: CheckedOffer, source: SourceInfo) -> None:
    """Answer the offered H.265 entry that decodes the camera's stream, with the camera's format parameters."""
    sets = source.video.parameter_sets
    if sets is None or not sets.sps:
        raise SessionError("webrtc_codec_unsupported", "The camera's H.265 parameter sets are not known yet")
    try:
        camera = answer_parameters(sets)
    except ValueError as err:
        raise SessionError("webrtc_codec_unsupported", f"Unreadable H.265 SPS ({err})") from None
    ours = next(codec for codec in CODECS["video"] if codec.mimeType == H265_MIME_TYPE)
    codecs = negotiate(offer.video_codecs, ours, camera)
    if codecs is None:
        raise SessionError(
            "webrtc_codec_unsupported",
            f"The browser offers no H.265 profile that decodes the camera's (profile-id {camera['profile-id']})",
        )
    video._codecs = codecs  # aiortc's choice, made by codec name only (see h265.py)


class WebRtcSession:
    """Created when the offer arrives; candidates that come before the answer is ready wait for it."""

    def __init__(
        self,
        session_id: str,
        camera_id: str,
        stream: Stream,
        send_message: WebRTCSendMessage,
        on_end: Callable[[str | None], None],
    ) -> None:
        self.session_id = session_id
        self.camera_id = camera_id
        self.send_message = send_message
        self._stream = stream
        self._on_end = on_end  # called once, on the event loop, with the error that ended the session (if any)
        self._pc: RTCPeerConnection | None = None
        self._viewer: LiveViewer | None = None
        self._pending: list[RTCIceCandidate | None] = []
        self._closed = False
        self._watch: asyncio.Task[None] | None = None
        self.sent: SourceInfo | None = None  # the codecs the answer named

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def stream(self) -> Stream:
        return self._stream

    async def answer(
        self, offer: CheckedOffer, source: SourceInfo, ice_servers: Sequence[RTCIceServer], relay_only: bool
    ) -> str | None:
        """The answer SDP (with our candidates), or None if the session was closed meanwhile."""
        video_codecs = _video_capability(source)
        self.sent = source
        self._viewer = viewer = self._stream.add_live_viewer()
        self._pc = pc = RTCPeerConnection(rtc_configuration(ice_servers, relay_only))
        pc.on("connectionstatechange", self._on_connection_state)
        video = pc.addTransceiver("video", direction="sendonly")
        video.setCodecPreferences(video_codecs)
        if not attach_direct_video_sender(video.sender, viewer):
            if source.video.codec != "h264":  # aiortc's own send loop packetizes H.264 only
                raise SessionError("webrtc_codec_unsupported", "aiortc moved: cannot send H.265")
            video.sender.replaceTrack(LiveVideoTrack(viewer))
        if source.audio is not None and "audio" in offer.kinds:
            audio = pc.addTransceiver(LiveAudioTrack(viewer), direction="sendonly")
            audio.setCodecPreferences(audio_capability(source.audio))
        await self._stream.start()
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=decline_unused_extensions(offer.sdp), type="offer"))
            if source.video.codec == "hevc":
                _answer_h265(video, offer, source)
            elif source.video.profile_level_id is not None:
                use_camera_level(video._codecs, source.video.profile_level_id)
            limit_gathering_time(pc)
            await pc.setLocalDescription(await pc.createAnswer())
        except SessionError:
            raise
        except (ValueError, InvalidStateError) as err:
            raise SessionError("webrtc_offer_failed", f"Cannot answer the offer: {err}") from None
        except Exception as err:  # aiortc's OperationError when no codec is common, among others
            raise SessionError(
                "webrtc_codec_unsupported", f"The browser does not accept the camera's media ({err})"
            ) from None
        if self._closed:
            return None
        for candidate in self._pending:
            await pc.addIceCandidate(candidate)
        self._pending.clear()
        self._watch = asyncio.get_running_loop().create_task(self._watch_viewer(viewer))
        return pc.localDescription.sdp

    async def add_candidate(self, candidate: RTCIceCandidateInit) -> None:
        parsed = _parse_candidate(candidate)
        if self._closed:
            return
        if self._pc is None or self._pc.remoteDescription is None or self._watch is None:
            self._pending.append(parsed)
            return
        try:
            await self._pc.addIceCandidate(parsed)
        except ValueError as err:
            raise SessionError("webrtc_candidate_invalid", f"Invalid ICE candidate ({err})") from None

    async def close(self, error: str | None = None) -> None:
        """End the session and release everything it holds; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        if self._viewer is not None:
            self._stream.remove_live_viewer(self._viewer)
        if self._watch is not None and self._watch is not asyncio.current_task():
            self._watch.cancel()
        if self._pc is not None:
            await self._pc.close()
        self._on_end(error)

    async def _watch_viewer(self, viewer: LiveViewer) -> None:
        """The live feed ended this viewer (camera failed or the stream stopped): end the session."""
        await viewer.wait_closed()
        if not self._closed:
            await self.close(viewer.error or "The camera stream stopped")

    async def _on_connection_state(self) -> None:
        pc = self._pc
        if pc is not None and pc.connectionState == "failed":
            _LOGGER.debug("WebRTC session %s: connection failed", self.session_id)
            with contextlib.suppress(Exception):
                await self.close("The WebRTC connection failed")
