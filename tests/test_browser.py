"""The browser test infrastructure itself: Chromium's codecs, the player page end to end, and its timecode decoder."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from playwright.async_api import Page

from tests.browser_harness import (
    ASSETS_DIR,
    HlsPlayerDriver,
    HlsPlayerError,
    StaticServer,
    paint_timecode,
    percentile,
    serve_directory,
    timecode_band_height,
    wall_clock_timecode,
)
from tests.plugins.browser import HlsPlayerFactory

pytestmark = pytest.mark.e2e

H264_AAC = 'video/mp4; codecs="avc1.640028,mp4a.40.2"'
HEVC = 'video/mp4; codecs="hvc1.1.6.L93.B0"'
PLAYLIST = "index.m3u8"
# Not a multiple of 32: cells have unequal widths, as with the simulator's real frame sizes.
TIMECODE_WIDTH, TIMECODE_HEIGHT, TIMECODE_FPS = 648, 360, 10


async def run_ffmpeg(*args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, f"ffmpeg failed ({process.returncode}): {stderr.decode(errors='replace')}"


def write_timecoded_hls(directory: Path, timecodes: Sequence[int]) -> None:
    """H.264 fMP4 HLS (VOD, 1 s segments) whose frame i carries timecodes[i] in its band, via numpy and PyAV."""
    directory.mkdir(parents=True, exist_ok=True)
    options = {"hls_time": "1", "hls_segment_type": "fmp4", "hls_playlist_type": "vod"}
    with av.open(str(directory / PLAYLIST), mode="w", format="hls", options=options) as container:
        stream = container.add_stream("libx264", rate=TIMECODE_FPS)
        stream.width, stream.height, stream.pix_fmt = TIMECODE_WIDTH, TIMECODE_HEIGHT, "yuv420p"
        stream.options = {"g": str(TIMECODE_FPS), "crf": "18", "preset": "veryfast"}
        rows = np.arange(TIMECODE_HEIGHT, dtype=np.uint16)[:, None]
        for index, value in enumerate(timecodes):
            # A moving gradient below the band, so this is real changing video rather than a still.
            columns = np.arange(TIMECODE_WIDTH, dtype=np.uint16)[None, :]
            luma = ((rows + columns + index * 8) % 200 + 28).astype(np.uint8)
            paint_timecode(luma, value)
            chroma = np.full((TIMECODE_HEIGHT // 2, TIMECODE_WIDTH), 128, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(np.concatenate([luma, chroma]), format="yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, TIMECODE_FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


async def test_chromium_plays_h264_aac_in_mse(page: Page, record_property: Callable[[str, object], None]) -> None:
    supported = await page.evaluate("(types) => types.map((t) => MediaSource.isTypeSupported(t))", [H264_AAC, HEVC])
    assert supported[0] is True
    # Recorded, not asserted: this Chromium has no HEVC decoder, and later versions may gain one.
    record_property("hevc_mse_supported", supported[1])


async def test_timecode_helpers_match_python(page: Page) -> None:
    """The page's pure helpers agree with the Python side (band geometry, bit order, wrap, percentiles)."""
    await page.add_script_tag(path=ASSETS_DIR / "timecode.js")
    value = 0xA5C3_0F81
    luma = np.zeros((TIMECODE_HEIGHT, TIMECODE_WIDTH), dtype=np.uint8)
    paint_timecode(luma, value)
    middle_row = luma[timecode_band_height(TIMECODE_HEIGHT) // 2]
    rgba = np.repeat(middle_row, 4).tolist()  # grey pixels: the green channel equals luma
    result = await page.evaluate(
        """([rgba, width, height]) => {
            const t = window.streamTimecode;
            return {
                band: t.bandHeight(height),
                smallBand: t.bandHeight(120),
                decoded: t.decodeRow(rgba, width),
                plain: t.latencyMs(5000, 4000),
                wrapped: t.latencyMs(2 ** 32 + 100, 2 ** 32 - 50),
                ahead: t.latencyMs(1000, 1500),
                median: t.percentile([5, 1, 3, 2, 4], 0.5),
                p95: t.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95),
                empty: t.percentile([], 0.5),
            };
        }""",
        [rgba, TIMECODE_WIDTH, TIMECODE_HEIGHT],
    )
    assert result["band"] == timecode_band_height(TIMECODE_HEIGHT) == 16
    assert result["smallBand"] == 16
    assert result["decoded"] == value
    assert result["plain"] == 1000
    assert result["wrapped"] == 150  # the timecode wrapped past 2**32 before the clock did
    assert result["ahead"] == -500
    assert result["median"] == percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert result["p95"] == pytest.approx(percentile(range(1, 11), 0.95)) == pytest.approx(9.55)
    assert result["empty"] is None


async def test_player_plays_ffmpeg_hls_cross_origin(
    hls_player: HlsPlayerFactory, asset_server: StaticServer, tmp_path: Path
) -> None:
    media_dir = tmp_path / "hls"
    media_dir.mkdir()
    await run_ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"),
        *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"),
        *("-t", "5", "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p", "-g", "25"),
        *("-c:a", "aac", "-b:a", "96k"),
        *("-f", "hls", "-hls_time", "1", "-hls_segment_type", "fmp4", "-hls_playlist_type", "vod"),
        str(media_dir / PLAYLIST),
    )
    async with serve_directory(media_dir, cors=True) as media:
        assert media.port != asset_server.port  # another origin: the page needs the CORS headers
        player = await hls_player(media.url(PLAYLIST), low_latency=True, decode_timecode=False)
        first = await player.wait_for_first_frame()
        state = await player.wait_for_playback(2.0)

    assert first.first_frame_at_ms is not None
    assert first.time_to_first_frame_ms is not None
    assert first.time_to_first_frame_ms > 0
    assert state.current_time >= 2.0
    assert state.frames_decoded > 0
    assert not state.fatal
    assert state.fatal_errors == ()
    assert state.low_latency is True
    assert state.hls_version


async def test_player_reports_fatal_error_without_cors(hls_player: HlsPlayerFactory, tmp_path: Path) -> None:
    """Proves the page really loads media cross-origin: without CORS headers hls.js cannot read the playlist."""
    write_timecoded_hls(tmp_path / "hls", [0] * TIMECODE_FPS)
    async with serve_directory(tmp_path / "hls", cors=False) as media:
        player = await hls_player(media.url(PLAYLIST))
        with pytest.raises(HlsPlayerError) as failure:
            await player.wait_for_first_frame()

    state = failure.value.state
    assert state is not None
    assert state.fatal
    assert [error.details for error in state.fatal_errors] == ["manifestLoadError"]
    assert state.first_frame_at_ms is None


async def play_timecoded(hls_player: HlsPlayerFactory, directory: Path, timecodes: Sequence[int]) -> HlsPlayerDriver:
    write_timecoded_hls(directory, timecodes)
    async with serve_directory(directory, cors=True) as media:
        player = await hls_player(media.url(PLAYLIST), decode_timecode=True)
        await player.wait_for_first_frame()
        await player.wait_for("(p) => p.ended", timeout_s=30, what="the end of the video")
    return player


async def test_player_decodes_frame_timecodes(hls_player: HlsPlayerFactory, tmp_path: Path) -> None:
    # Distinct values exercising all 32 bits (MSB set or not), one per frame.
    expected = [0xFFFF_FFFF, 0x0000_0000, 0x8000_0001] + [(0x9E37_79B9 * (i + 1)) % 2**32 for i in range(37)]
    player = await play_timecoded(hls_player, tmp_path / "hls", expected)
    state = await player.state()

    assert state.timecode_error is None
    decoded = list(state.timecodes)
    assert set(decoded) <= set(expected), f"misread values: {sorted(set(decoded) - set(expected))}"
    # Presented in order (a frame may be shown on several callbacks or, rarely, skipped by the compositor).
    positions = [expected.index(value) for value in decoded]
    assert positions == sorted(positions)
    assert len(set(decoded)) >= 0.8 * len(expected)


async def test_player_measures_glass_to_glass_latency(hls_player: HlsPlayerFactory, tmp_path: Path) -> None:
    """Frames stamped 10 s in the past at 10 fps: every sample is the 10 s plus however long playback took."""
    offset_ms = 10_000
    frame_ms = 1000 // TIMECODE_FPS
    base = wall_clock_timecode() - offset_ms
    player = await play_timecoded(hls_player, tmp_path / "hls", [base + i * frame_ms for i in range(30)])
    state = await player.state()

    assert state.timecode_error is None
    assert state.timecode_rejects == 0
    assert len(state.latency_samples_ms) == len(state.timecodes) > 0
    # A frame cannot be shown before its stamp + offset; a vsync of slack for when the callback reads the clock.
    assert min(state.latency_samples_ms) >= offset_ms - 50
    assert max(state.latency_samples_ms) < offset_ms + 120_000
    assert state.latency_median_ms == pytest.approx(percentile(state.latency_samples_ms, 0.5))
    assert state.latency_p95_ms == pytest.approx(percentile(state.latency_samples_ms, 0.95))
