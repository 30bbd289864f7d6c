"""The camera WebRTC provider: answers the frontend's offers from the camera's shared live feed."""

from __future__ import annotations

import logging
from collections.abc import Callable

from homeassistant.components.camera import Camera
from homeassistant.components.camera.const import DATA_COMPONENT as CAMERA_COMPONENT
from homeassistant.components.camera.const import CameraEntityFeature
from homeassistant.components.camera.webrtc import (
    DATA_WEBRTC_PROVIDERS,
    CameraWebRTCProvider,
    WebRTCAnswer,
    WebRTCError,
    WebRTCSendMessage,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from webrtc_models import RTCIceCandidateInit

from ...const import DOMAIN, SIGNAL_LIVE_SOURCE
from ...core import Stream
from ...source.codec_memory import CodecLearner, CodecMemory
from ...source.codec_memory.record import decision
from ...source.description import SourceInfo
from .errors import SessionError
from .h265 import offers_h265
from .ice import choose_ice_servers
from .offer import check_offer, decline_answer
from .session import WebRtcSession

_LOGGER = logging.getLogger(__name__)

# How long an offer for a cold camera waits for the source to open and send its first keyframe.
SOURCE_TIMEOUT = 10.0
GO2RTC_DOMAIN = "go2rtc"


def unsupported_reason(source: SourceInfo, h265: bool = True) -> str | None:
    """Why WebRTC is not offered for this camera (`h265`: whether H.265 cameras are), or None when it is."""
    if source.video.codec == "hevc" and not h265:
        return (
            "The camera sends H.265, for which WebRTC is off: browsers that cannot decode it would show a still "
            "picture instead of the HLS or MJPEG fallback (stream: webrtc_h265: true offers it)"
        )
    if source.video.codec not in ("h264", "hevc"):
        return f"The camera sends {source.video.codec}, which WebRTC here does not carry (H.264 and H.265 only)"
    if source.reordered:
        # Measured: Chromium's WebRTC decoder fails on every frame held back for reordering and shows the
        # keyframes only (about one picture a second), so such cameras play HLS instead.
        return "The camera sends B-frames, which browsers' WebRTC decoders drop (about one picture a second)"
    return None


class StreamWebRtcProvider(CameraWebRTCProvider):
    """One per Home Assistant; sessions are keyed by the frontend's session id."""

    def __init__(
        self,
        hass: HomeAssistant,
        max_sessions_per_camera: int,
        memory: CodecMemory,
        learner: CodecLearner,
        *,
        h265: bool = False,
    ) -> None:
        self._hass = hass
        self._max_sessions = max_sessions_per_camera
        self._h265 = h265  # H.265 cameras offered WebRTC too (ARCHITECTURE.md, "H.265 over WebRTC")
        self._sessions: dict[str, WebRtcSession] = {}
        self.codec_memory = self._memory = memory  # what each source carries, known before its stream runs
        self.codec_learner = self._learner = learner
        self.relay_only = False  # force TURN relaying on our side (tests; privacy)
        self.unregister: Callable[[], None] = lambda: None  # set once registered with the camera integration
        self._unsub_source: Callable[[], None] = async_dispatcher_connect(
            hass, SIGNAL_LIVE_SOURCE, self._on_live_source
        )
        self._unsub_memory = memory.add_listener(self._on_source_learned)

    @property
    def domain(self) -> str:
        return DOMAIN

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @callback
    def async_is_supported(self, stream_source: str) -> bool:
        """Sources known to carry what WebRTC takes as it is, unless go2rtc serves them (go2rtc is what a user who
        set it up chose for WebRTC; deferring to it keeps the choice deterministic).

        A source not known yet is learned in the background and offered once known: until then the frontend plays
        HLS, which shows every camera a browser can decode (and falls back to its own picture otherwise), where an
        offer that turns out to be for H.265 would leave an error on the card."""
        for provider in self._hass.data.get(DATA_WEBRTC_PROVIDERS, ()):
            if provider is not self and provider.domain == GO2RTC_DOMAIN and provider.async_is_supported(stream_source):
                return False
        known = self._memory.get(stream_source)
        if known is None or not known.ready:
            self._learner.learn(stream_source)
            return False
        return unsupported_reason(known, self._h265) is None

    async def async_handle_async_webrtc_offer(
        self, camera: Camera, offer_sdp: str, session_id: str, send_message: WebRTCSendMessage
    ) -> None:
        """Answer through `send_message`; every failure becomes a WebRTCError, never an exception."""
        try:
            await self._answer(camera, offer_sdp, session_id, send_message)
        except SessionError as err:
            _LOGGER.debug("WebRTC offer for %s refused: %s", camera.entity_id, err)
            await self._fail(session_id, send_message, err.code, str(err))
        except Exception as err:
            _LOGGER.exception("Unexpected error answering a WebRTC offer for %s", camera.entity_id)
            await self._fail(session_id, send_message, "webrtc_offer_failed", f"Unexpected error: {err}")

    async def _fail(self, session_id: str, send_message: WebRTCSendMessage, code: str, message: str) -> None:
        if (session := self._sessions.get(session_id)) is not None:
            await session.close()
        send_message(WebRTCError(code, message))

    async def _answer(self, camera: Camera, offer_sdp: str, session_id: str, send_message: WebRTCSendMessage) -> None:
        offer = check_offer(offer_sdp)  # before the camera starts or aiortc sees any of it
        if sum(session.camera_id == camera.entity_id for session in self._sessions.values()) >= self._max_sessions:
            raise SessionError(
                "webrtc_too_many_sessions",
                f"{camera.entity_id} already has {self._max_sessions} WebRTC sessions (webrtc_max_sessions)",
            )
        # Typed as the built-in's Stream; the takeover makes it ours.
        stream: object = await camera.async_create_stream()
        if stream is None:
            raise SessionError("webrtc_no_stream", "The camera has no stream source")
        if not isinstance(stream, Stream):
            raise SessionError("webrtc_no_stream", "The camera's stream is not served by this integration")

        def on_end(error: str | None) -> None:
            self._sessions.pop(session_id, None)
            if error is not None:
                send_message(WebRTCError("webrtc_session_ended", error))

        session = WebRtcSession(session_id, camera.entity_id, stream, send_message, on_end)
        self._sessions[session_id] = session
        # Known codecs answer at once, the stream starting alongside; only a source never seen is waited for.
        source = self._known_source(stream) or await self._wait_for_source(stream)
        if (reason := unsupported_reason(source, self._h265)) is not None:
            raise SessionError("webrtc_codec_unsupported", reason)
        if session.closed:
            return
        if source.video.codec == "hevc" and not offers_h265(offer.video_codecs):
            # A browser without H.265 over WebRTC: no error (the frontend would show it on the card), see
            # ARCHITECTURE.md "H.265 over WebRTC".
            await session.close()
            send_message(WebRTCAnswer(decline_answer(offer.sdp)))
            return
        ice_servers = choose_ice_servers(camera.async_get_webrtc_client_configuration().configuration.ice_servers)
        answer = await session.answer(offer, source, ice_servers, self.relay_only)
        if answer is not None:
            send_message(WebRTCAnswer(answer))

    def _known_source(self, stream: Stream) -> SourceInfo | None:
        """The stream's codecs from its current run, else as last seen (possibly before a restart)."""
        live = stream.live.source
        if live is not None and live.ready:
            return live
        known = self._memory.get(stream.source)
        return known if known is not None and known.ready else None

    async def _wait_for_source(self, stream: Stream) -> SourceInfo:
        viewer_hold = stream.add_live_viewer()  # keeps a cold stream up while it opens
        try:
            await stream.start()
            source = await stream.live.wait_for_source(SOURCE_TIMEOUT)
        finally:
            stream.remove_live_viewer(viewer_hold)
        if source is None:
            raise SessionError("webrtc_no_stream", "The camera did not send video in time")
        return source

    async def async_on_webrtc_candidate(self, session_id: str, candidate: RTCIceCandidateInit) -> None:
        session = self._sessions.get(session_id)
        if session is None:
            return  # the session ended (or never started): nothing to add the candidate to
        try:
            await session.add_candidate(candidate)
        except SessionError as err:
            # The session goes on (the browser's other candidates may work); the frontend hears about it.
            _LOGGER.debug("WebRTC session %s: %s", session_id, err)
            session.send_message(WebRTCError(err.code, str(err)))

    @callback
    def async_close_session(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            self._hass.async_create_task(session.close(), eager_start=True)

    async def async_unregister_camera(self, camera: Camera) -> None:
        """Another provider took the camera, it was removed, or it no longer fits WebRTC: its sessions end."""
        await self._close_sessions(
            lambda session: session.camera_id == camera.entity_id, "WebRTC is no longer offered for this camera"
        )

    async def async_shutdown(self) -> None:
        """Home Assistant stops or the integration unloads: every session ends, probes stop."""
        self.unregister()
        self._unsub_source()
        self._unsub_memory()
        await self._learner.async_shutdown()
        await self._close_sessions(lambda session: True, None)

    async def _close_sessions(self, which: Callable[[WebRtcSession], bool], error: str | None) -> None:
        for session in [session for session in self._sessions.values() if which(session)]:
            await session.close(error)

    @callback
    def _on_live_source(self, stream: Stream, source: SourceInfo) -> None:
        """A stream's codecs became known: remember them, and end sessions answered for other codecs (the camera
        was reconfigured since it was last seen)."""
        if not source.ready:
            return
        stream.live.webrtc_refused = unsupported_reason(source, self._h265)
        for session in list(self._sessions.values()):
            if session.stream is stream and session.sent is not None and decision(session.sent) != decision(source):
                self._hass.async_create_task(
                    session.close("The camera changed its codecs; open the stream again"), eager_start=True
                )
        self._memory.remember(stream.source, source)

    @callback
    def _on_source_learned(self, source: str) -> None:
        """What a source carries changed: its cameras choose their WebRTC provider again (offered or not)."""
        known = self._memory.get(source)
        if known is not None and (reason := unsupported_reason(known, self._h265)) is not None:
            _LOGGER.info("Not offering WebRTC for a camera: %s", reason)
        self._hass.async_create_background_task(
            self._refresh_cameras(source), "stream: refresh the WebRTC provider of a camera"
        )

    async def _refresh_cameras(self, source: str) -> None:
        component = self._hass.data.get(CAMERA_COMPONENT)
        for camera in list(component.entities) if component is not None else ():
            if not camera.supported_features & CameraEntityFeature.STREAM:
                continue
            try:
                camera_source = await camera.stream_source()
            except Exception:
                continue
            if camera_source == source:
                await camera.async_refresh_providers()
