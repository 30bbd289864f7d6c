"""Browser fixtures: one headless Chromium per session, a fresh context and page per test, and the test assets server.

Event loops: each test (and Home Assistant's `hass`) runs on its own function-scoped loop, while launching Chromium
per test would cost ~0.5 s more each. So Chromium is a plain session-scoped process (no loop involved) and each test
attaches playwright to it over CDP from the test's own loop (~0.5 s: playwright's node driver), then opens a new
browser context, isolated like a fresh profile.

Sockets: pytest-homeassistant-custom-component blocks socket creation in every test unless the test uses the
`socket_enabled` fixture. The fixtures below that open Python sockets (`asset_server`) depend on it, so a test that
uses them has sockets enabled (connections stay limited to 127.0.0.1). Playwright itself talks to its driver over
pipes and needs nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize

from tests.browser_harness import (
    ASSETS_DIR,
    ChromiumProcess,
    HlsPlayerDriver,
    StaticServer,
    connect_browser,
    open_hls_player,
    serve_directory,
)


class HlsPlayerFactory(Protocol):
    """The `hls_player` fixture: opens the player page on the test's page, playing `src`."""

    async def __call__(
        self,
        src: str,
        *,
        low_latency: bool | None = True,
        decode_timecode: bool = True,
        samples: int = 600,
        hls_version: str | None = None,
    ) -> HlsPlayerDriver: ...


_VIEWPORT: ViewportSize = {"width": 1280, "height": 720}


@pytest.fixture(scope="session")
def chromium_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromiumProcess]:
    """The session's headless Chromium (own user-data-dir), killed at the end of the session."""
    if not (ASSETS_DIR / "vendor" / "hls.min.js").exists():
        pytest.fail("tests/assets/vendor/hls.min.js is missing: run scripts/setup")
    with ChromiumProcess(tmp_path_factory.mktemp("chromium") / "profile") as process:
        yield process


@pytest.fixture
async def browser(chromium_process: ChromiumProcess) -> AsyncIterator[Browser]:
    """Playwright attached to the session's Chromium, on this test's event loop."""
    async with connect_browser(chromium_process) as connected:
        yield connected


@pytest.fixture
async def browser_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh, isolated browser context (no cookies, cache or storage from other tests)."""
    context = await browser.new_context(viewport=_VIEWPORT)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def page(browser_context: BrowserContext) -> Page:
    return await browser_context.new_page()


@pytest.fixture
async def asset_server(socket_enabled: None) -> AsyncIterator[StaticServer]:
    """tests/assets/ over HTTP on 127.0.0.1 (the player page and hls.js), so pages avoid file:// restrictions."""
    async with serve_directory(ASSETS_DIR) as server:
        yield server


@pytest.fixture
def hls_player(page: Page, asset_server: StaticServer) -> HlsPlayerFactory:
    """`await hls_player(src, *, low_latency=True, decode_timecode=True, samples=600)` opens the player on `page`."""

    async def open_player(
        src: str,
        *,
        low_latency: bool | None = True,
        decode_timecode: bool = True,
        samples: int = 600,
        hls_version: str | None = None,
    ) -> HlsPlayerDriver:
        return await open_hls_player(
            page,
            asset_server.base_url,
            src,
            low_latency=low_latency,
            decode_timecode=decode_timecode,
            samples=samples,
            hls_version=hls_version,
        )

    return open_player
