"""Headless Chromium for the benchmarks (tests/browser_harness.py starts it): every page in a browser context of its
own (no cache, no cookies), of one size; hls.js, vendored by scripts/setup, present."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Browser, BrowserContext

from tests.browser_harness import ASSETS_DIR

VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 720


@asynccontextmanager
async def fresh_context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A new browser context (a cold page: nothing cached) of VIEWPORT_WIDTH x VIEWPORT_HEIGHT, closed after."""
    context = await browser.new_context(viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT})
    try:
        yield context
    finally:
        await context.close()


def require_hls_js() -> None:
    """Stop the benchmark when tests/assets/vendor/hls.min.js is missing."""
    if not (ASSETS_DIR / "vendor" / "hls.min.js").exists():
        raise SystemExit("tests/assets/vendor/hls.min.js is missing: run scripts/setup")
