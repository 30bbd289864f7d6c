"""Test configuration shared by every suite.

The plugin of pytest-homeassistant-custom-component ships an empty `custom_components` package that can shadow ours,
so ours is imported before any Home Assistant fixture runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

import custom_components.stream  # noqa: E402,F401  (must win over the plugin's empty package)

pytest_plugins = [
    "tests.plugins.simulator",
    "tests.plugins.browser",
    "tests.plugins.turn",
    "tests.plugins.streams",
    "tests.plugins.cameras",
    "tests.plugins.webrtc",
    "tests.plugins.hls_player",
]


@pytest.fixture(autouse=True)
def _load_our_integration(request: pytest.FixtureRequest) -> None:
    """Every test with a Home Assistant instance loads custom_components/stream, before any other fixture sets up
    an integration (otherwise Home Assistant silently loads its built-in stream)."""
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")
