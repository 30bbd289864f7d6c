"""Home Assistant loads our `stream` in place of the built-in, validates `stream:` and takes over camera's streams."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeassistant import loader
from homeassistant.core import HomeAssistant
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
