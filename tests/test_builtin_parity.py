"""Behaviour Home Assistant's own stream tests expect of the built-in, held by ours (issue 14 req. 7): the client
error check before set-up, its stream options, and FFmpeg's log at DEBUG (credentials masked)."""

from __future__ import annotations

import logging

import av.logging
import pytest
from homeassistant.const import EVENT_LOGGING_CHANGED
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component

import custom_components.stream as ours
from custom_components.stream.const import DOMAIN
from custom_components.stream.ffmpeg_log import redact_message
from tests.simulator import CameraSimulator

# FFmpeg components of the built-in's test, plus "NULL" (a message without a context).
COMPONENTS = ("mp4", "h264", "hevc", "rtsp", "tcp", "tls", "mpegts", "NULL")


async def test_client_error_check_before_setup_is_refused(hass: HomeAssistant) -> None:
    with pytest.raises(HomeAssistantError, match="Stream integration is not set up") as refused:
        await ours.async_check_stream_client_error(hass, "rtsp://127.0.0.1:9/cam")
    assert not isinstance(refused.value, ours.StreamOpenClientError)  # it never tried to open the source


@pytest.mark.e2e
@pytest.mark.usefixtures("socket_enabled")
async def test_client_error_check_takes_stream_options(hass: HomeAssistant, camera_simulator: CameraSimulator) -> None:
    """Its options are the camera's stream options (as for create_stream), not raw FFmpeg options."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    url = camera_simulator.url("h264")
    options: dict[str, str | bool | float] = {"rtsp_transport": "tcp", "use_wallclock_as_timestamps": True}
    await ours.async_check_stream_client_error(hass, url, options)
    with pytest.raises(HomeAssistantError, match="Invalid stream options"):
        await ours.async_check_stream_client_error(hass, url, {"rtsp_transport": "carrier-pigeon"})


# Ours, and the built-in's name, which users may still set (the test run may log everything at DEBUG).
STREAM_LOGGERS = ("custom_components.stream", "homeassistant.components.stream")


async def _set_stream_level(hass: HomeAssistant, level: int) -> None:
    for name in STREAM_LOGGERS:
        logging.getLogger(name).setLevel(level)
    hass.bus.async_fire(EVENT_LOGGING_CHANGED)
    await hass.async_block_till_done()


async def test_ffmpeg_log_reaches_python_logging_at_debug(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    levels = {name: logging.getLogger(name).level for name in STREAM_LOGGERS}
    try:
        await _set_stream_level(hass, logging.DEBUG)
        for component in COMPONENTS:
            av.logging.log(av.logging.ERROR, component, f"SHOULD PASS {component} rtsp://admin:pw123@10.0.0.9/live")
        await _set_stream_level(hass, logging.INFO)
        for component in COMPONENTS:
            av.logging.log(av.logging.ERROR, component, "SHOULD NOT PASS")
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    for component in COMPONENTS:
        assert f"SHOULD PASS {component} rtsp://****@10.0.0.9/live" in caplog.text
    assert "SHOULD NOT PASS" not in caplog.text
    assert "pw123" not in caplog.text
    assert "admin" not in caplog.text


async def test_ffmpeg_log_follows_the_builtins_logger_name(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant's own test sets only `homeassistant.components.stream` (the rest of the run may log at DEBUG):
    that level decides."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    builtin = logging.getLogger("homeassistant.components.stream")
    level = builtin.level
    try:
        for set_level, text in ((logging.INFO, "SHOULD NOT PASS"), (logging.DEBUG, "SHOULD PASS")):
            builtin.setLevel(set_level)
            hass.bus.async_fire(EVENT_LOGGING_CHANGED)
            await hass.async_block_till_done()
            for component in COMPONENTS:
                av.logging.log(av.logging.ERROR, component, text)
        for component in ("mp4", "swscaler"):  # quiet components' warnings stay out even at DEBUG
            av.logging.log(av.logging.WARNING, component, "SHOULD NOT PASS")
    finally:
        builtin.setLevel(level)
    assert "SHOULD PASS" in caplog.text
    assert "SHOULD NOT PASS" not in caplog.text


def test_ffmpeg_messages_are_masked() -> None:
    source = "rtsp://cam:p%40ss@192.168.1.2/h264?token=abc"
    message = "Opening 'http://u:secret@host/a.m3u8?auth=xyz&x=1' for reading; rtsp: p@ss refused"
    masked = redact_message(message, [source])
    assert masked == "Opening 'http://****@host/a.m3u8?auth=****&x=1' for reading; rtsp: **** refused"
