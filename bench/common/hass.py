"""Home Assistant in the bench's own process, with our `stream` or the built-in one.

`home_assistant` sets up `http` on a free loopback port, the chosen `stream` and any other components; `stop_stream`
stops a stream of either integration and waits for its worker thread; `ffmpeg_camera`, `camera_entity`,
`admin_token` and `websocket_url` give websocket clients a camera to open, as the frontend would.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol

from homeassistant import loader
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.components.http import config as http_config
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_test_home_assistant

from tests.real_ha import free_port

type StreamIntegration = Literal["ours", "built-in"]
type ComponentConfigs = Mapping[str, Mapping[str, Any]]

WORKER_END_TIMEOUT_S = 10.0


@asynccontextmanager
async def home_assistant(
    integration: StreamIntegration = "ours",
    stream_config: Mapping[str, Any] | None = None,
    *,
    components: ComponentConfigs | None = None,
    serve_http: bool = False,
) -> AsyncIterator[HomeAssistant]:
    """A real Home Assistant instance with `http` (on a free loopback port), `integration`'s `stream` and then each
    of `components` (domain -> its configuration) set up.

    The test instance hides custom integrations; they are shown again for ours, and left hidden for the built-in, so
    that `stream` resolves to the one wanted (checked). With `serve_http` the HTTP server listens (`hass.config.api`
    has its port); otherwise it never starts, as the test instance fires no start event.
    """
    with tempfile.TemporaryDirectory(prefix="bench-ha-") as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            if integration == "ours":
                hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            http_conf = {"http": {"server_host": "127.0.0.1", "server_port": free_port()}}
            try:
                await _set_up(hass, "http", http_conf)
                if (http_store := hass.data.get(http_config.DATA_STORE)) is not None:
                    # A YAML http config is a trial that, unconfirmed, "restarts" Home Assistant after 5 minutes.
                    http_store.async_cancel_revert()
                await _set_up(hass, "stream", {"stream": dict(stream_config or {})}, what=f"the {integration} stream")
                loaded = await loader.async_get_integration(hass, "stream")
                if loaded.is_built_in != (integration == "built-in"):
                    raise RuntimeError(f"Home Assistant set up {loaded.pkg_path}, not the {integration} stream")
                for domain, conf in (components or {}).items():
                    await _set_up(hass, domain, conf)
                if components:
                    await hass.async_block_till_done()
                if serve_http:
                    await hass.http.start()  # after every view is registered: the router freezes on start
                yield hass
            finally:
                await hass.async_stop(force=True)


async def _set_up(hass: HomeAssistant, domain: str, conf: Mapping[str, Any], *, what: str = "") -> None:
    if not await async_setup_component(hass, domain, dict(conf)):
        raise RuntimeError(f"{what or domain} did not set up")


# -- streams of either integration ---------------------------------------------------------------------------------


class StoppableStream(Protocol):
    async def stop(self) -> None: ...


class AnyStream(StoppableStream, Protocol):
    """What the benchmarks use of a stream; both integrations' `Stream` have it."""

    def add_provider(self, fmt: str, timeout: int | None = None) -> object: ...

    async def start(self) -> None: ...

    def endpoint_url(self, fmt: str) -> str: ...


type StreamOptions = Mapping[str, str | bool | float]
type CreateStream = Callable[[HomeAssistant, str, StreamOptions, DynamicStreamSettings], AnyStream]


def create_stream_function(integration: StreamIntegration) -> CreateStream:
    """`create_stream` of our integration or of the built-in, as a camera calls it."""
    if integration == "ours":
        from custom_components.stream import create_stream as ours

        return ours
    from homeassistant.components.stream import create_stream as builtin

    return builtin


async def stop_stream(
    hass: HomeAssistant, stream: StoppableStream, timeout_s: float = WORKER_END_TIMEOUT_S
) -> list[str]:
    """Stop `stream` (either integration's) and wait until its worker thread has ended: the built-in's `stop()` only
    signals it. A problem when the thread is still running after `timeout_s`."""
    thread = getattr(stream, "_thread", None)  # both integrations keep their worker thread here
    await stream.stop()
    if isinstance(thread, threading.Thread):
        await hass.async_add_executor_job(thread.join, timeout_s)
        if thread.is_alive():
            return [f"worker thread still running {timeout_s:g} s after stop()"]
    return []


# -- a camera for websocket clients ----------------------------------------------------------------------------------


def ffmpeg_camera(name: str, camera_input: str) -> dict[str, Mapping[str, Any]]:
    """The components for Home Assistant's `ffmpeg` camera `name` on `camera_input` (its `input:` option, FFmpeg
    options included), with the websocket API its clients use."""
    from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN

    return {
        "websocket_api": {},
        "ffmpeg": {"ffmpeg": {}},
        CAMERA_DOMAIN: {CAMERA_DOMAIN: [{"platform": "ffmpeg", "name": name, "input": camera_input}]},
    }


def camera_entity(hass: HomeAssistant, name: str) -> Any:
    """The camera entity `ffmpeg_camera(name, ...)` set up."""
    from homeassistant.components.camera.const import DOMAIN as CAMERA_DOMAIN

    camera = hass.data[CAMERA_DOMAIN].get_entity(f"camera.{name}")
    if camera is None:
        raise RuntimeError(f"no camera.{name}")
    return camera


async def admin_token(hass: HomeAssistant, name: str) -> str:
    """An access token of a new administrator (a system user called `name`) for websocket clients."""
    from homeassistant.auth.const import GROUP_ID_ADMIN

    user = await hass.auth.async_create_system_user(name, group_ids=[GROUP_ID_ADMIN])
    return hass.auth.async_create_access_token(await hass.auth.async_create_refresh_token(user))


def http_port(hass: HomeAssistant) -> int:
    """The port Home Assistant's HTTP server listens on (`home_assistant(..., serve_http=True)`)."""
    if hass.config.api is None:
        raise RuntimeError("http set up no API config")
    return hass.config.api.port


def websocket_url(hass: HomeAssistant) -> str:
    """Home Assistant's websocket API (the HTTP server must be listening)."""
    return f"http://127.0.0.1:{http_port(hass)}/api/websocket"
