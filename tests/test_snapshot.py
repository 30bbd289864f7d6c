"""Snapshots: `Stream.async_get_image` against the camera simulator, and `KeyframeConverter` on keyframes encoded
by ffmpeg (both codecs, both framings, every orientation, a keyframe that does not decode)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from homeassistant.components.stream import Orientation
from homeassistant.core import HomeAssistant
from numpy.typing import NDArray
from turbojpeg import TJPF_RGB, TurboJPEG

from custom_components.stream import Stream
from custom_components.stream.outputs.snapshot.converter import KeyframeConverter
from tests.orientations import ORIENTATIONS
from tests.simulator import CameraSimulator

pytestmark = pytest.mark.usefixtures("enable_custom_integrations", "socket_enabled")

JPEG = TurboJPEG()
SIZE = (160, 120)


def jpeg_size(image: bytes | None) -> tuple[int, int]:
    assert image is not None
    assert image.startswith(b"\xff\xd8")
    width, height, _, _ = JPEG.decode_header(image)
    return width, height


def pixels(image: bytes | None) -> NDArray[np.int16]:
    assert image is not None
    decoded: NDArray[np.int16] = JPEG.decode(image, pixel_format=TJPF_RGB).astype(np.int16)
    return decoded


def difference(a: NDArray[np.int16], b: NDArray[np.int16]) -> float:
    assert a.shape == b.shape
    return float(np.abs(a - b).mean())


# -- keyframes encoded by ffmpeg ---------------------------------------------------------------------------------


def ffmpeg_frame(path: Path, codec: str, *output: str) -> Path:
    """Encode one frame of ffmpeg's test pattern with `codec` into `path`."""
    encoder = ["-c:v", "libx264"] if codec == "h264" else ["-c:v", "libx265", "-x265-params", "log-level=error"]
    pattern = f"testsrc2=size={SIZE[0]}x{SIZE[1]}:rate=1"
    command = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", pattern, "-frames:v", "1", *encoder]
    subprocess.run([*command, "-pix_fmt", "yuv420p", *output, str(path)], check=True, timeout=60)
    return path


def encode_keyframe(tmp_path: Path, codec: str) -> bytes:
    """One Annex-B access unit (parameter sets + IDR), as an RTSP source hands it to the worker."""
    return ffmpeg_frame(tmp_path / f"frame.{codec}", codec, "-f", codec).read_bytes()


def mp4_keyframe(tmp_path: Path, codec: str) -> tuple[bytes, bytes]:
    """(avcC/hvcC extradata, length-prefixed keyframe) as an MP4 or HLS source hands them to the worker."""
    path = ffmpeg_frame(tmp_path / f"frame_{codec}.mp4", codec)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packet = next(p for p in container.demux(stream) if p.size)
        extradata = stream.codec_context.extradata
        assert extradata is not None
        return extradata, bytes(packet)


def reference_picture(tmp_path: Path) -> NDArray[np.int16]:
    """ffmpeg's own decode of the H.264 test frame, as RGB."""
    with av.open(str(tmp_path / "frame.h264")) as container:
        frame = next(container.decode(video=0))
        picture: NDArray[np.int16] = frame.to_ndarray(format="rgb24").astype(np.int16)
        return picture


@pytest.fixture
def converter(hass: HomeAssistant) -> KeyframeConverter:
    return KeyframeConverter(hass)


async def get_image(
    converter: KeyframeConverter,
    width: int | None = None,
    height: int | None = None,
    orientation: int = 1,
    wait_for_next_keyframe: bool = False,
) -> bytes | None:
    return await converter.async_get_image(
        width=width, height=height, wait_for_next_keyframe=wait_for_next_keyframe, orientation=orientation
    )


@pytest.mark.parametrize("codec", ["h264", "hevc"])
async def test_annexb_keyframe_becomes_a_jpeg(converter: KeyframeConverter, tmp_path: Path, codec: str) -> None:
    converter.on_keyframe(codec, None, encode_keyframe(tmp_path, codec))

    image = await get_image(converter)

    assert jpeg_size(image) == SIZE
    assert pixels(image).std() > 20  # the test pattern, not a blank picture


@pytest.mark.parametrize("codec", ["h264", "hevc"])
async def test_length_prefixed_keyframe_with_codec_record(
    converter: KeyframeConverter, tmp_path: Path, codec: str
) -> None:
    extradata, keyframe = mp4_keyframe(tmp_path, codec)
    converter.on_keyframe(codec, extradata, keyframe)

    assert jpeg_size(await get_image(converter)) == SIZE


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(80, 60, (80, 60)), (80, None, (80, 60)), (None, 30, (40, 30)), (100, 40, (100, 40))],
)
async def test_resize(
    converter: KeyframeConverter,
    tmp_path: Path,
    width: int | None,
    height: int | None,
    expected: tuple[int, int],
) -> None:
    converter.on_keyframe("h264", None, encode_keyframe(tmp_path, "h264"))

    assert jpeg_size(await get_image(converter, width, height)) == expected


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
async def test_orientation(converter: KeyframeConverter, tmp_path: Path, orientation: int) -> None:
    converter.on_keyframe("h264", None, encode_keyframe(tmp_path, "h264"))
    expected = ORIENTATIONS[orientation](reference_picture(tmp_path))

    image = pixels(await get_image(converter, orientation=orientation))

    assert difference(image, expected) < 5  # JPEG noise only
    for other, turn in ORIENTATIONS.items():
        candidate = turn(reference_picture(tmp_path))
        if other != orientation and candidate.shape == image.shape:
            assert difference(image, candidate) > 15


async def test_resize_and_rotation_together(converter: KeyframeConverter, tmp_path: Path) -> None:
    converter.on_keyframe("h264", None, encode_keyframe(tmp_path, "h264"))

    # The size asked for is the displayed one: after a quarter turn the picture is taller than wide.
    assert jpeg_size(await get_image(converter, 60, 80, orientation=6)) == (60, 80)
    assert jpeg_size(await get_image(converter, 60, None, orientation=8)) == (60, 80)


async def test_keyframe_that_does_not_decode_returns_the_previous_image(
    converter: KeyframeConverter, tmp_path: Path
) -> None:
    converter.on_keyframe("h264", None, encode_keyframe(tmp_path, "h264"))
    good = await get_image(converter)

    converter.on_keyframe("h264", None, b"\x00\x00\x00\x01\x65garbage")
    again = await get_image(converter)
    assert await get_image(converter) == good

    assert again == good
    assert converter.decode_count == 2  # the bad keyframe was tried once only


async def test_concurrent_callers_share_one_decode(converter: KeyframeConverter, tmp_path: Path) -> None:
    converter.on_keyframe("h264", None, encode_keyframe(tmp_path, "h264"))

    images = await asyncio.gather(*(get_image(converter) for _ in range(10)))

    assert len(set(images)) == 1
    assert converter.decode_count == 1


async def test_release_drops_the_keyframe_and_keeps_the_last_image(
    converter: KeyframeConverter, tmp_path: Path
) -> None:
    keyframe = encode_keyframe(tmp_path, "h264")
    converter.on_keyframe("h264", None, keyframe)
    image = await get_image(converter)

    converter.release()  # the stream stopped

    assert await get_image(converter) == image  # at once, as the built-in answers after a stop
    assert converter.decode_count == 1
    converter.on_keyframe("h264", None, keyframe)  # the restarted stream's first keyframe is decoded afresh
    assert jpeg_size(await get_image(converter)) == SIZE
    assert converter.decode_count == 2


async def test_released_before_any_image_waits_for_the_next_keyframe(
    converter: KeyframeConverter, tmp_path: Path
) -> None:
    keyframe = encode_keyframe(tmp_path, "h264")
    converter.on_keyframe("h264", None, keyframe)
    converter.release()

    request = asyncio.create_task(get_image(converter))
    await asyncio.sleep(0)  # the request starts waiting
    converter.on_keyframe("h264", None, keyframe)

    assert jpeg_size(await request) == SIZE


# -- from the camera simulator ----------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(("mount", "size"), [("h264_aac", (640, 360)), ("h265", (320, 240))])
async def test_stream_snapshot(
    stream_factory: Callable[[str], Stream], camera_simulator: CameraSimulator, mount: str, size: tuple[int, int]
) -> None:
    stream = stream_factory(camera_simulator.url(mount))

    image = await stream.async_get_image()  # starts the stream and waits for its first keyframe

    assert jpeg_size(image) == size
    assert pixels(image).std() > 20
    resized = await stream.async_get_image(width=size[0] // 2, height=size[1] // 2)
    assert jpeg_size(resized) == (size[0] // 2, size[1] // 2)
    stream.dynamic_stream_settings.orientation = Orientation.ROTATE_LEFT
    rotated = await stream.async_get_image(wait_for_next_keyframe=True)
    assert jpeg_size(rotated) == (size[1], size[0])
    # The colour bars turned counterclockwise (the clock and the moving box differ between keyframes).
    assert difference(pixels(rotated), np.rot90(pixels(image))) < difference(
        pixels(rotated), np.rot90(pixels(image), -1)
    )


@pytest.mark.e2e
async def test_ten_concurrent_snapshots_decode_once(
    stream_factory: Callable[[str], Stream], camera_simulator: CameraSimulator
) -> None:
    stream = stream_factory(camera_simulator.url("h264"))
    assert await stream.async_get_image() is not None
    converter = stream._keyframe_converter
    decodes = converter.decode_count

    # All ten wait for the same next keyframe (the simulator sends one a second) and share its decode.
    images = await asyncio.gather(*(stream.async_get_image(wait_for_next_keyframe=True) for _ in range(10)))

    assert len(set(images)) == 1
    assert images[0] is not None
    assert converter.decode_count == decodes + 1
