"""WebRTC for every stream camera through aiortc: no extra binary, no second camera connection, no re-encoding."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import EventComponentLoaded

from ...source.codec_memory import CodecLearner, CodecMemory
from .mdns import load_mdns_record_types
from .provider import StreamWebRtcProvider
from .rtp_cost import install_fast_clock

__all__ = ["StreamWebRtcProvider", "async_setup_webrtc"]

CAMERA_DOMAIN = "camera"

# This package is imported in Home Assistant's import executor (see async_setup): the place for imports the event loop
# would otherwise do later.
load_mdns_record_types()


async def async_setup_webrtc(
    hass: HomeAssistant, max_sessions_per_camera: int, is_streaming: Callable[[str], bool], h265: bool = False
) -> StreamWebRtcProvider:
    """The provider, registered with the camera integration as soon as that is loaded (now or later).

    `is_streaming(source)`: whether a worker runs for the source (it then reports the codecs: no probe needed);
    `h265`: H.265 cameras are offered WebRTC too (`webrtc_h265`)."""
    from homeassistant.components.camera.webrtc import async_register_webrtc_provider

    install_fast_clock()
    memory = CodecMemory(hass)
    await memory.async_load()
    provider = StreamWebRtcProvider(
        hass, max_sessions_per_camera, memory, CodecLearner(hass, memory, is_streaming), h265=h265
    )

    @callback
    def register() -> None:
        provider.unregister = async_register_webrtc_provider(hass, provider)

    if CAMERA_DOMAIN in hass.config.components:
        register()
    else:

        @callback
        def camera_loaded(event: Event[EventComponentLoaded]) -> None:
            if event.data["component"] == CAMERA_DOMAIN:
                unsub()
                register()

        unsub = hass.bus.async_listen(EVENT_COMPONENT_LOADED, camera_loaded)
        provider.unregister = unsub
    return provider
