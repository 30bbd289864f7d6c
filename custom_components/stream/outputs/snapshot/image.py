"""One video keyframe to a JPEG: decode it with a private PyAV decoder, scale it, turn it to the camera's
orientation, encode it with TurboJPEG. Blocking: call from the executor only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    from av.video.codeccontext import VideoCodecContext
    from av.video.frame import VideoFrame
    from numpy.typing import NDArray

type Image = NDArray[np.uint8]  # height x width x RGB

# EXIF orientation -> how the decoded picture turns for display; 5-8 swap width and height. Same results as the
# built-in (6 turns the picture a quarter turn counterclockwise, as the MP4 display matrix does).
_ORIENT: dict[int, Callable[[Image], Image]] = {
    1: lambda image: image,
    2: lambda image: image[:, ::-1],  # mirror
    3: lambda image: image[::-1, ::-1],  # rotate 180
    4: lambda image: image[::-1],  # flip
    5: lambda image: image.swapaxes(0, 1),  # rotate left and flip
    6: lambda image: image.swapaxes(0, 1)[::-1],  # rotate left
    7: lambda image: image.swapaxes(0, 1)[::-1, ::-1],  # rotate right and flip
    8: lambda image: image.swapaxes(0, 1)[:, ::-1],  # rotate right
}


def decode_keyframe(codec: str, extradata: bytes | None, data: bytes) -> VideoFrame:
    """The picture of one keyframe packet (Annex-B, or AVCC/HVCC when `extradata` is avcC/hvcC).
    Raises av.FFmpegError or ValueError when it does not decode."""
    import av

    # A fresh decoder per keyframe: nothing carries over from a previous picture or a changed source.
    context = cast("VideoCodecContext", av.CodecContext.create(codec, "r"))
    if extradata:
        context.extradata = extradata
    context.thread_count = 1  # one picture: decoder threads would cost more to start than they save
    frames = context.decode(av.Packet(data)) + context.decode(None)  # None drains the decoder's reorder delay
    if not frames:
        raise ValueError(f"the {codec} decoder made no picture of the keyframe")
    return frames[0]


def display_size(frame_width: int, frame_height: int, orientation: int) -> tuple[int, int]:
    """The picture's size once turned to `orientation`."""
    return (frame_height, frame_width) if orientation >= 5 else (frame_width, frame_height)


def scaled_size(size: tuple[int, int], width: int | None, height: int | None) -> tuple[int, int]:
    """The (width, height) a snapshot of a picture of `size` is made at: as asked, or keeping the aspect ratio
    when only one side is given, or unchanged when neither is."""
    picture_width, picture_height = size
    if width and height:
        return width, height
    if width:
        return width, max(1, round(width * picture_height / picture_width))
    if height:
        return max(1, round(height * picture_width / picture_height)), height
    return size


def render_jpeg(frame: VideoFrame, width: int | None, height: int | None, orientation: int, jpeg_encoder: Any) -> bytes:
    """`frame` as a JPEG of `width` x `height` (see `scaled_size`) as displayed at `orientation` (EXIF 1-8)."""
    from turbojpeg import TJPF_RGB

    turn = _ORIENT.get(orientation)
    if turn is None:
        raise ValueError(f"Orientation must be 1-8, not {orientation}")
    out_width, out_height = scaled_size(display_size(frame.width, frame.height, orientation), width, height)
    # Scale first (one swscale pass, also converting to RGB), then turn: the picture is smallest then.
    scale_width, scale_height = display_size(out_width, out_height, orientation)
    rgb = cast("Image", frame.to_ndarray(width=scale_width, height=scale_height, format="rgb24"))
    return bytes(jpeg_encoder.encode(np.ascontiguousarray(turn(rgb)), pixel_format=TJPF_RGB))
