"""The source's tracks as the worker reads them: which streams, the timescale of each, what they carry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, cast

from ..exceptions import StreamWorkerError
from ..remux.fmp4.parameter_sets import VideoCodec
from .description import AudioSource, VideoSource

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext
    from av.container import InputContainer
    from av.stream import Stream as AvStream
    from av.video.codeccontext import VideoCodecContext
    from av.video.stream import VideoStream

VIDEO_CODECS: dict[str, VideoCodec] = {"h264": "h264", "hevc": "hevc"}
AAC_FRAME_SAMPLES = 1024


@dataclass(frozen=True, slots=True)
class TrackClock:
    """A track's timescale, and the conversion of its timestamps into it (None when they are in it already, as
    with the usual 1/90000: no call per packet)."""

    timescale: int
    to_ticks: Callable[[int], int] | None = None


NO_CLOCK = TrackClock(0)


def track_clock(time_base: object) -> TrackClock:
    """The clock of a stream with this PyAV time base."""
    numerator, denominator = getattr(time_base, "numerator", 0), getattr(time_base, "denominator", 0)
    if not numerator or not denominator:
        raise StreamWorkerError("Stream has no time base")
    exact = Fraction(numerator, denominator)
    if exact.numerator == 1:
        return TrackClock(exact.denominator)
    return TrackClock(90000, lambda ts: round(ts * exact * 90000))


def video_track(container: InputContainer) -> tuple[VideoStream, VideoCodec]:
    """The source's first video stream and its codec; StreamWorkerError when there is none we can remux."""
    if not container.streams.video:
        raise StreamWorkerError("Stream has no video")
    video = container.streams.video[0]
    video_codec = VIDEO_CODECS.get(video.codec_context.name)
    if video_codec is None:
        raise StreamWorkerError(f"Video codec {video.codec_context.name} is not supported (H.264 or H.265 only)")
    return video, video_codec


def describe_tracks(
    video: AvStream, video_codec: str, audio: AvStream | None
) -> tuple[VideoSource, AudioSource | None]:
    """The source's video and audio as the live feed and the codec memory describe them (profile not yet known)."""
    ctx = cast("VideoCodecContext", video.codec_context)
    audio_source = None
    if audio is not None:
        actx = cast("AudioCodecContext", audio.codec_context)
        audio_source = AudioSource(actx.name, actx.sample_rate, actx.layout.nb_channels)
    return VideoSource(video_codec, ctx.width, ctx.height, None), audio_source


def adts_frame_ticks(data: bytes, timescale: int) -> int:
    """Duration of one AAC frame (1024 samples) in `timescale` ticks, from an ADTS header; 0 when unknown."""
    from ..remux.fmp4.aac import is_adts, parse_adts

    if not timescale or not is_adts(data):
        return 0
    rate = parse_adts(data).sample_rate
    return round(AAC_FRAME_SAMPLES * timescale / rate) if rate else 0
