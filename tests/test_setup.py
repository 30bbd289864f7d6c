"""Home Assistant loads our `stream` in place of the built-in, validates `stream:` and takes over camera's streams."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
from homeassistant import loader
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component

import custom_components.stream as ours
from custom_components.stream.const import DOMAIN

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")

PROJECT_DIR = Path(__file__).resolve().parent.parent


async def test_loads_ours_instead_of_builtin(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})

    integration = await loader.async_get_integration(hass, DOMAIN)
    assert not integration.is_built_in
    assert str(integration.file_path) == str(PROJECT_DIR / "custom_components" / "stream")
    assert integration.version is not None
    settings = hass.data[DOMAIN]["settings"]
    assert isinstance(settings, ours.StreamSettings)
    assert settings.ll_hls is True


async def test_takes_over_builtin_create_stream(hass: HomeAssistant) -> None:
    import homeassistant.components.stream as builtin
    from homeassistant.components import camera

    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})

    replaced: dict[str, object] = {
        "camera.create_stream": vars(camera)["create_stream"],
        "builtin.create_stream": vars(builtin)["create_stream"],
        "camera.Stream": vars(camera)["Stream"],
    }
    assert replaced == {
        "camera.create_stream": ours.create_stream,
        "builtin.create_stream": ours.create_stream,
        "camera.Stream": ours.Stream,
    }


@pytest.mark.parametrize(
    ("conf", "expected"),
    [
        ({}, (True, 0.34, 5.9)),
        ({"ll_hls": False}, (False, 2.0, 1.9)),
        ({"part_duration": 0.2, "segment_duration": 2}, (True, 0.2, 1.9)),
        ({"part_duration": 1.5, "segment_duration": 10}, (True, 1.5, 9.9)),
    ],
)
async def test_valid_config(hass: HomeAssistant, conf: dict[str, object], expected: tuple[bool, float, float]) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: conf})

    settings = hass.data[DOMAIN]["settings"]
    assert (settings.ll_hls, settings.part_target_duration, settings.min_segment_duration) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"part_duration": 0.1}, "part_duration must be between 0.2 and 1.5 seconds"),
        ({"part_duration": 1.6}, "part_duration must be between 0.2 and 1.5 seconds"),
        ({"segment_duration": 1.9}, "segment_duration must be between 2 and 10 seconds"),
        ({"segment_duration": 11}, "segment_duration must be between 2 and 10 seconds"),
        ({"part_duration": "fast"}, "part_duration"),
        ({"ll_hls": "sometimes"}, "ll_hls"),
        ({"webrtc": "maybe"}, "webrtc"),
        ({"webrtc_max_sessions": 0}, "webrtc_max_sessions must be between 1 and 100"),
        ({"webrtc_max_sessions": 101}, "webrtc_max_sessions must be between 1 and 100"),
    ],
)
async def test_invalid_config_fails_setup_naming_the_key(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture, conf: dict[str, object], message: str
) -> None:
    assert not await async_setup_component(hass, DOMAIN, {DOMAIN: conf})

    assert message in caplog.text
    assert DOMAIN not in hass.config.components


async def test_non_string_source_fails_with_a_clear_error(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})

    expected = r"^A stream source must be a URL or a file path \(str\), not BytesIO$"
    with pytest.raises(HomeAssistantError, match=expected):
        ours.create_stream(hass, cast(str, io.BytesIO(b"\x00")), {}, DynamicStreamSettings())

    assert hass.data[DOMAIN]["streams"] == []


async def test_update_source_refuses_a_non_string_source(stream_factory: Callable[..., ours.Stream]) -> None:
    stream = stream_factory("rtsp://127.0.0.1:9/none")

    with pytest.raises(HomeAssistantError, match=r"not bytes$"):
        stream.update_source(cast(str, b"rtsp://127.0.0.1:9/other"))

    assert stream.source == "rtsp://127.0.0.1:9/none"


class _FailsToShutDown(ours.Stream):
    """A stream whose shutdown raises, as one did with a file-like source before sources had to be strings."""

    async def shutdown(self) -> None:
        raise RuntimeError("stuck")


async def test_one_stream_failing_at_shutdown_does_not_stop_the_others_shutting_down(
    hass: HomeAssistant, stream_factory: Callable[..., ours.Stream], caplog: pytest.LogCaptureFixture
) -> None:
    streams: list[ours.Stream] = hass.data[DOMAIN]["streams"]
    failing = _FailsToShutDown(
        hass, "rtsp://user:secret@127.0.0.1:9/stuck", {}, hass.data[DOMAIN]["settings"], DynamicStreamSettings()
    )
    streams.append(failing)
    after = stream_factory("rtsp://127.0.0.1:9/none")
    await after.start()
    running = [after.worker_running]

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()

    running.append(after.worker_running)
    assert running == [True, False]  # the stream after the failing one was shut down too
    assert "Error shutting down stream rtsp://" in caplog.text
    assert "RuntimeError: stuck" in caplog.text
    assert "secret" not in caplog.text
