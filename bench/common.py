"""What the benchmarks share: a real Home Assistant instance with either `stream`, log capture, report formatting.

The scripts put the project directory first on sys.path before importing this module, so that `custom_components`
is ours and not the empty package pytest-homeassistant ships.
"""

from __future__ import annotations

import datetime
import logging
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from homeassistant import const as ha_const
from homeassistant import loader
from homeassistant.components.http import config as http_config
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_test_home_assistant

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = PROJECT_DIR / "bench" / "results"
STREAM_LOGGERS = ("custom_components.stream", "homeassistant.components.stream")

type StreamIntegration = Literal["ours", "built-in"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def quiet_startup_logging() -> None:
    """Start-up chatter of a bare Home Assistant in a sandbox ("custom integration", "no IPv4", "no zlib_ng")."""
    for name in ("homeassistant.loader", "homeassistant.components.network", "aiohttp_fast_zlib"):
        logging.getLogger(name).setLevel(logging.ERROR)


class LogCapture(logging.Handler):
    """Keeps both integrations' warnings and errors (with tracebacks) for the report instead of printing them."""

    def __init__(self, expected: Sequence[str] = ()) -> None:
        super().__init__(logging.WARNING)
        self.expected = tuple(expected)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
        for name in STREAM_LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.propagate = False

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take_unexpected(self) -> list[str]:
        """Everything logged since the last call except messages containing one of the `expected` texts."""
        records, self.records = self.records, []
        return [
            self.format(record)
            for record in records
            if not any(expected in record.getMessage() for expected in self.expected)
        ]


@asynccontextmanager
async def home_assistant(
    integration: StreamIntegration = "ours", stream_config: Mapping[str, Any] | None = None, *, serve_http: bool = False
) -> AsyncIterator[HomeAssistant]:
    """A real Home Assistant instance with `http` (on a free loopback port) and `integration`'s `stream` set up.

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
                if not await async_setup_component(hass, "http", http_conf):
                    raise RuntimeError("http did not set up")
                if (http_store := hass.data.get(http_config.DATA_STORE)) is not None:
                    # A YAML http config is a trial that, unconfirmed, "restarts" Home Assistant after 5 minutes.
                    http_store.async_cancel_revert()
                if not await async_setup_component(hass, "stream", {"stream": dict(stream_config or {})}):
                    raise RuntimeError(f"the {integration} stream integration did not set up")
                loaded = await loader.async_get_integration(hass, "stream")
                if loaded.is_built_in != (integration == "built-in"):
                    raise RuntimeError(f"Home Assistant set up {loaded.pkg_path}, not the {integration} stream")
                if serve_http:
                    await hass.http.start()  # after every view is registered: the router freezes on start
                yield hass
            finally:
                await hass.async_stop(force=True)


# -- report formatting -------------------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def ratio(ours: float | None, builtin: float | None) -> str:
    """ours/built-in as `0.42x`, or n/a when either is missing or the built-in's is not positive."""
    if ours is None or builtin is None or builtin <= 0:
        return "n/a"
    return f"{ours / builtin:.2f}x"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def versions() -> str:
    import av  # heavy: only the report needs its version

    return f"Python {sys.version.split()[0]}, Home Assistant {ha_const.__version__}, PyAV {av.__version__}"


def now_iso() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def write_report(name: str, suffixes: Sequence[str], text: str) -> Path:
    """Write `text` to bench/results/<name>-<date><suffixes>.md and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{datetime.date.today().isoformat()}{''.join(suffixes)}.md"
    path.write_text(text)
    return path
