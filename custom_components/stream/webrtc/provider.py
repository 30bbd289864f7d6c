"""The camera WebRTC provider: answers the frontend's offers from the camera's shared live feed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from homeassistant.components.camera import Camera
from homeassistant.components.camera.const import DATA_COMPONENT as CAMERA_COMPONENT
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

from ..const import DOMAIN, SIGNAL_LIVE_SOURCE
from ..core import Stream
from ..live import SourceInfo
from .ice import choose_ice_servers
from .session import SessionError, WebRtcSession

_LOGGER = logging.getLogger(__name__)

# How long an offer for a cold camera waits for the source to open and send its first keyframe.
SOURCE_TIMEOUT = 10.0
GO2RTC_DOMAIN = "go2rtc"


def unsupported_reason(source: SourceInfo) -> str | None:
    """Why WebRTC cannot carry this camera without transcoding, or None when it can."""
    if source.video.codec != "h264":
        return "The camera sends H.265, which WebRTC here does not carry (H.264 only)"
    if source.reordered:
        return "The camera sends B-frames, which WebRTC cannot carry"
    return None


class StreamWebRtcProvider(CameraWebRTCProvider):
    """One per Home Assistant; sessions are keyed by the frontend's session id."""

    def __init__(self, hass: HomeAssistant, max_sessions_per_camera: int) -> None:
        self._hass = hass
        self._max_sessions = max_sessions_per_camera
        self._sessions: dict[str, WebRtcSession] = {}
        self._unsupported: dict[str, str] = {}  # stream source -> reason, once its codecs are known
        self.relay_only = False  # force TURN relaying on our side (tests; privacy)
        self.unregister: Callable[[], None] = lambda: None  # set once registered with the camera integration
        self._unsub_source: Callable[[], None] = async_dispatcher_connect(
            hass, SIGNAL_LIVE_SOURCE, self._on_live_source
        )

    @property
    def domain(self) -> str:
        return DOMAIN

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @callback
    def async_is_supported(self, stream_source: str) -> bool:
        """Any source our worker opens, unless its codecs are known not to fit, or go2rtc serves it (go2rtc
        is what a user who set it up chose for WebRTC; deferring to it keeps the choice deterministic)."""
        if stream_source in self._unsupported:
            return False
        for provider in self._hass.data.get(DATA_WEBRTC_PROVIDERS, ()):
            if provider is not self and provider.domain == GO2RTC_DOMAIN and provider.async_is_supported(stream_source):
                return False
        return True

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
        if (reason := self._unsupported.get(stream.source)) is not None:
            raise SessionError("webrtc_codec_unsupported", reason)

        def on_end(error: str | None) -> None:
            self._sessions.pop(session_id, None)
            if error is not None:
                send_message(WebRTCError("webrtc_session_ended", error))

        session = WebRtcSession(session_id, camera.entity_id, stream, send_message, on_end)
        self._sessions[session_id] = session
        if stream.live.source is None or not stream.live.source.ready:
            viewer_hold = stream.add_live_viewer()  # keeps a cold stream up while it opens
            try:
                await stream.start()
                source = await stream.live.wait_for_source(SOURCE_TIMEOUT)
            finally:
                stream.remove_live_viewer(viewer_hold)
        else:
            source = stream.live.source
        if source is None:
            raise SessionError("webrtc_no_stream", "The camera did not send video in time")
        if (reason := unsupported_reason(source)) is not None:
            raise SessionError("webrtc_codec_unsupported", reason)
        if session.closed:
            return
        ice_servers = choose_ice_servers(camera.async_get_webrtc_client_configuration().configuration.ice_servers)
        answer = await session.answer(offer_sdp, source, ice_servers, self.relay_only)
        if answer is not None:
            send_message(WebRTCAnswer(answer))

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
        """Another provider took the camera, or it was removed: its sessions end."""
        await self._close_sessions(lambda session: session.camera_id == camera.entity_id)

    async def async_shutdown(self) -> None:
        """Home Assistant stops or the integration unloads: every session ends."""
        self.unregister()
        self._unsub_source()
        await self._close_sessions(lambda session: True)

    async def _close_sessions(self, which: Callable[[WebRtcSession], bool]) -> None:
        for session in [session for session in self._sessions.values() if which(session)]:
            await session.close()

    @callback
    def _on_live_source(self, stream: Stream, source: SourceInfo) -> None:
        """A stream's codecs became known: cameras that cannot use WebRTC stop offering it (HLS takes over)."""
        reason = unsupported_reason(source)
        if reason == self._unsupported.get(stream.source):
            return
        if reason is None:
            self._unsupported.pop(stream.source, None)
        else:
            _LOGGER.info("Not offering WebRTC for a camera: %s", reason)
            self._unsupported[stream.source] = reason
        component = self._hass.data.get(CAMERA_COMPONENT)
        for camera in component.entities if component is not None else ():
            if cast(object, camera.stream) is stream:
                self._hass.async_create_task(camera.async_refresh_providers(), eager_start=True)
