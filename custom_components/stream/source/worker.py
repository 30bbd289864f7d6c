"""One run of the source: open it with PyAV, demux, validate timestamps and feed the segmenter (worker thread).

Remux only: packets are copied into fMP4, never decoded or encoded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, cast

from ..const import AUDIO_CODECS, PACKETS_TO_WAIT_FOR_AUDIO, SOURCE_TIMEOUT
from ..exceptions import StreamClientError, StreamEndedError, StreamWorkerError
from ..redact import redact_text
from ..remux.fmp4.parameter_sets import VideoCodec
from ..remux.segmenter import PartSink, Segmenter, StreamTimeline
from ..settings import StreamSettings, non_ll_hls_settings
from .rates import MediaRateMeter
from .timestamps import TimestampValidator, Verdict

if TYPE_CHECKING:
    import av
    from av.audio.codeccontext import AudioCodecContext
    from av.container import InputContainer
    from av.stream import Stream as AvStream
    from av.video.codeccontext import VideoCodecContext
    from av.video.stream import VideoStream

    from ..outputs.live import AudioSource, LiveFeed, VideoSource
    from ..remux.fmp4.writer import Fmp4Writer

_LOGGER = logging.getLogger(__name__)

VIDEO_CODECS: dict[str, VideoCodec] = {"h264": "h264", "hevc": "hevc"}
# Read timeout once the source is open: a stalled camera is an error after this long.
READ_TIMEOUT = 10.0


@dataclass(slots=True)
class WorkerStats:
    """What the worker has seen, for availability, diagnostics and snapshots (written by the worker thread)."""

    container_format: str | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int = 0
    height: int = 0
    packets: int = 0
    discontinuities: int = 0
    rates: MediaRateMeter = field(default_factory=MediaRateMeter)  # fps, bitrate, keyframe interval


@dataclass(slots=True)
class WorkerRun:
    """Everything one run needs; `sink` and `on_discontinuity` hand results to the event loop."""

    source: str
    open_options: dict[str, str]
    settings: StreamSettings
    timeline: StreamTimeline
    sink: PartSink
    on_discontinuity: Callable[[], None]
    on_started: Callable[[], None]
    on_keyframe: Callable[[str, bytes | None, bytes], None]  # (codec, extradata, packet data), for snapshots
    quit: threading.Event
    stats: WorkerStats = field(default_factory=WorkerStats)
    live: LiveFeed | None = None  # frames for live (WebRTC) viewers, straight from the demuxer


def open_source(
    source: str, options: dict[str, str], timeout: tuple[float, float] = (SOURCE_TIMEOUT, READ_TIMEOUT)
) -> InputContainer:
    """Open `source`, turning FFmpeg errors into StreamWorkerError with a client error code and no secrets.

    `timeout`: seconds to open, then to wait for each read."""
    import av  # imported here: loading FFmpeg is slow and only the worker needs it

    try:
        return av.open(source, options=options, timeout=timeout)
    except av.HTTPBadRequestError as err:
        raise _open_error("Bad Request Error opening stream", err, source, StreamClientError.BadRequest) from None
    except av.HTTPUnauthorizedError as err:
        raise _open_error("Unauthorized error opening stream", err, source, StreamClientError.Unauthorized) from None
    except av.HTTPForbiddenError as err:
        raise _open_error("Forbidden error opening stream", err, source, StreamClientError.Forbidden) from None
    except av.HTTPNotFoundError as err:
        raise _open_error("Not Found error opening stream", err, source, StreamClientError.NotFound) from None
    except av.FFmpegError as err:
        raise _open_error("Error opening stream", err, source, StreamClientError.Other) from None


def _open_error(prefix: str, err: av.FFmpegError, source: str, code: StreamClientError) -> StreamWorkerError:
    return StreamWorkerError(f"{prefix} ({redact_text(str(err.strerror or err), source)})", code)


def run_worker(run: WorkerRun) -> None:
    """Demux and remux until the source ends, fails, or `run.quit` is set."""
    container = open_source(run.source, run.open_options)
    try:
        _remux(container, run)
    finally:
        container.close()


def video_track(container: InputContainer) -> tuple[VideoStream, VideoCodec]:
    """The source's first video stream and its codec; StreamWorkerError when there is none we can remux."""
    if not container.streams.video:
        raise StreamWorkerError("Stream has no video")
    video = container.streams.video[0]
    video_codec = VIDEO_CODECS.get(video.codec_context.name)
    if video_codec is None:
        raise StreamWorkerError(f"Video codec {video.codec_context.name} is not supported (H.264 or H.265 only)")
    return video, video_codec


def _timescale(time_base: object) -> tuple[int, Callable[[int], int] | None]:
    """The track timescale for a stream time base, and the conversion of its timestamps into it (None when they
    are in it already, as with the usual 1/90000: no call per packet)."""
    numerator, denominator = getattr(time_base, "numerator", 0), getattr(time_base, "denominator", 0)
    if not numerator or not denominator:
        raise StreamWorkerError("Stream has no time base")
    time_base = Fraction(numerator, denominator)
    if time_base.numerator == 1:
        return time_base.denominator, None
    return 90000, lambda ts: round(ts * time_base * 90000)


def _remux(container: InputContainer, run: WorkerRun) -> None:
    import av

    from ..remux.fmp4.writer import Fmp4Writer, make_audio_track, make_video_track

    stats = run.stats
    rates = stats.rates
    rates.new_run()
    stats.container_format = container.format.name
    video, video_codec = video_track(container)
    stats.video_codec = video_codec
    # The camera's audio goes to live viewers whatever its codec (G.711 passes through to WebRTC); HLS carries it
    # only when fMP4 can (`audio`).
    source_audio: AvStream | None = container.streams.audio[0] if container.streams.audio else None
    audio: AvStream | None = None
    if source_audio is not None and source_audio.codec_context.name in AUDIO_CODECS:
        audio = source_audio
        stats.audio_codec = audio.codec_context.name
    elif source_audio is not None:
        _LOGGER.debug("Audio codec %s is not carried in HLS", source_audio.codec_context.name)

    settings = run.settings
    if "hls" in container.format.name.split(","):
        settings = non_ll_hls_settings()  # an HLS input cannot feed shorter parts than its own segments

    video_scale, to_video_ticks = _timescale(video.time_base)
    audio_scale, to_audio_ticks = _timescale(source_audio.time_base) if source_audio is not None else (0, None)
    live = run.live
    if live is not None:
        _start_live_run(live, video, video_codec, video_scale, source_audio, audio_scale)
    video_check = TimestampValidator(video_scale)
    audio_check = TimestampValidator(audio_scale or 1)

    segmenter: Segmenter | None = None
    writer: Fmp4Writer | None = None
    # Packets held from the first keyframe until the writer exists (waiting for the first ADTS audio frame).
    preroll: list[tuple[bool, int, int, bool, bytes]] = []
    first_audio: bytes | None = None
    audio_ready = audio is None or bool(audio.codec_context.extradata)

    def make_segmenter() -> tuple[Fmp4Writer, Segmenter]:
        assert preroll
        ctx = video.codec_context
        try:
            video_track = make_video_track(
                video_codec, video_scale, ctx.width, ctx.height, ctx.extradata, first_keyframe=preroll[0][4]
            )
        except ValueError as err:
            raise StreamWorkerError(f"Cannot remux video: {err}") from None
        audio_track = None
        if audio is not None and (audio.codec_context.extradata or first_audio is not None):
            actx = cast("AudioCodecContext", audio.codec_context)
            try:
                audio_track = make_audio_track(
                    actx.name, audio_scale, actx.sample_rate, actx.layout.nb_channels, actx.extradata, first_audio
                )
            except ValueError as err:
                _LOGGER.warning("Playing without audio: %s", err)
        new_writer = Fmp4Writer(video_track, audio_track)
        stats.width, stats.height = video_track.width, video_track.height
        return new_writer, _segmenter_for(new_writer, run, settings, video_scale, audio_scale, stats)

    def feed(is_video: bool, dts: int, pts: int, keyframe: bool, data: bytes) -> None:
        assert writer is not None
        assert segmenter is not None
        if is_video:
            segmenter.add_video(dts, pts, keyframe, writer.video_sample_data(data))
        elif writer.has_audio:
            segmenter.add_audio(dts, writer.audio_sample_data(data))

    # MPEG-TS packs several AAC frames into one PES packet and FFmpeg leaves all but the first without a dts when
    # probing was short: such frames follow on from the previous one (1024 samples each).
    audio_rate = audio.codec_context.sample_rate if audio is not None else 0  # type: ignore[attr-defined]
    audio_frame_ticks = round(1024 * audio_scale / audio_rate) if audio_rate and audio_scale else 0
    last_audio_dts: int | None = None

    started = False
    carry_audio = False  # writer.has_audio, once there is a writer
    quit_requested = run.quit.is_set
    on_packet = rates.on_packet
    streams: list[AvStream] = [video] if source_audio is None else [video, source_audio]
    demux = container.demux(*streams)
    ended = False
    # The hot loop: every call and copy here happens for every packet, so the common path does only what it must.
    while True:
        try:
            packet = next(demux)
        except StopIteration:
            ended = True
            break
        except av.FFmpegError as err:
            raise StreamWorkerError(f"Error demuxing stream ({err.strerror or err})") from None
        if packet.size == 0:
            continue  # the flush packets at the end
        if quit_requested():
            break
        stats.packets += 1
        is_video = packet.stream is video
        raw_pts = packet.pts
        if not is_video and audio is None:
            # Audio only live viewers want: no timestamp repair, the RTP clock just follows the camera's.
            if live is not None and live.active and raw_pts is not None:
                live.audio(raw_pts if to_audio_ticks is None else to_audio_ticks(raw_pts), bytes(packet))
            continue
        raw_dts = packet.dts
        if is_video:
            keyframe = packet.is_keyframe
            check, to_ticks = video_check, to_video_ticks
            if raw_dts is None and keyframe and segmenter is None:
                raw_dts = raw_pts if raw_pts is not None else 0  # a first keyframe without dts still starts
        else:
            keyframe = True
            check, to_ticks = audio_check, to_audio_ticks
            if raw_dts is None and last_audio_dts is not None:
                if not audio_frame_ticks:
                    audio_frame_ticks = _adts_frame_ticks(bytes(packet), audio_scale)
                if audio_frame_ticks:
                    raw_dts = last_audio_dts + audio_frame_ticks
            if raw_dts is not None:
                last_audio_dts = raw_dts
        if raw_dts is None and segmenter is None and not preroll:
            # Joining a camera mid-GOP, FFmpeg has no dts for the frames before the first keyframe: nothing could
            # play them anyway, and they are not the broken timestamps the validator guards against.
            continue
        verdict = check.check(raw_dts)
        if verdict is not Verdict.ACCEPT:
            if verdict is Verdict.DROP:
                continue
            _LOGGER.debug("Timestamp jump in %s track: starting a new timeline", "video" if is_video else "audio")
            stats.discontinuities += 1
            if segmenter is not None:
                segmenter.flush()
                run.on_discontinuity()
            video_check.reset()
            audio_check.reset()
            check.check(raw_dts)
            if writer is not None:
                segmenter = _segmenter_for(writer, run, settings, video_scale, audio_scale, stats)
        assert raw_dts is not None
        if to_ticks is None:
            dts = raw_dts
            pts = raw_pts if raw_pts is not None else dts
        else:
            dts = to_ticks(raw_dts)
            pts = to_ticks(raw_pts) if raw_pts is not None else dts
        on_packet(is_video, dts, video_scale if is_video else audio_scale, packet.size, keyframe)
        if is_video:
            # The packet's bytes only for what keeps them (snapshots, live viewers, the preroll): the muxer copies
            # video straight from the packet.
            data = bytes(packet) if keyframe or writer is None else b""
            if keyframe:
                run.on_keyframe(video_codec, video.codec_context.extradata, data)
            if live is not None and (live.wants_video or keyframe):
                live.video(pts, keyframe, data or bytes(packet))
        else:
            data = bytes(packet)
            if live is not None and live.active:
                live.audio(pts, data)

        if writer is None:
            if is_video and (keyframe or preroll):
                preroll.append((True, dts, pts, keyframe, data))
            elif not is_video:
                first_audio = data
                audio_ready = True
                if preroll:
                    preroll.append((False, dts, dts, True, data))
            if preroll and (audio_ready or len(preroll) >= PACKETS_TO_WAIT_FOR_AUDIO):
                writer, segmenter = make_segmenter()
                carry_audio = writer.has_audio
                for item in preroll:
                    feed(*item)
                preroll.clear()
            continue
        assert segmenter is not None
        if is_video:
            segmenter.add_video(dts, pts, keyframe, writer.video_sample_data(packet))
        elif carry_audio:
            segmenter.add_audio(dts, writer.audio_sample_data(data))
        if not started and segmenter.started:
            started = True
            run.on_started()
    if ended and not run.quit.is_set():
        if segmenter is not None:
            segmenter.flush()
        raise StreamEndedError("Stream ended; no additional packets")
    if segmenter is not None:
        segmenter.flush()


def _start_live_run(
    live: LiveFeed,
    video: AvStream,
    video_codec: str,
    video_scale: int,
    audio: AvStream | None,
    audio_scale: int,
) -> None:
    """Tell the live feed what this run carries."""
    video_source, audio_source = describe_tracks(video, video_codec, audio)
    live.start_run(
        video_source,
        video_scale,
        video.codec_context.extradata,
        audio_source,
        audio_scale,
        audio.codec_context.extradata if audio is not None else None,
    )


def describe_tracks(
    video: AvStream, video_codec: str, audio: AvStream | None
) -> tuple[VideoSource, AudioSource | None]:
    """The source's video and audio as the live feed and the codec memory describe them (profile not yet known)."""
    from ..outputs.live import AudioSource, VideoSource

    ctx = cast("VideoCodecContext", video.codec_context)
    audio_source = None
    if audio is not None:
        actx = cast("AudioCodecContext", audio.codec_context)
        audio_source = AudioSource(actx.name, actx.sample_rate, actx.layout.nb_channels)
    return VideoSource(video_codec, ctx.width, ctx.height, None), audio_source


def _adts_frame_ticks(data: bytes, timescale: int) -> int:
    """Duration of one AAC frame (1024 samples) in `timescale` ticks, from an ADTS header; 0 when unknown."""
    from ..remux.fmp4.aac import is_adts, parse_adts

    if not timescale or not is_adts(data):
        return 0
    rate = parse_adts(data).sample_rate
    return round(1024 * timescale / rate) if rate else 0


def _segmenter_for(
    writer: Fmp4Writer, run: WorkerRun, settings: StreamSettings, video_scale: int, audio_scale: int, stats: WorkerStats
) -> Segmenter:
    """A segmenter for a new continuous run of `writer`'s tracks."""
    return Segmenter(
        writer,
        run.timeline,
        video_timescale=video_scale,
        audio_timescale=audio_scale if writer.has_audio else None,
        part_target=settings.part_target_duration,
        min_segment_duration=settings.min_segment_duration,
        first_segment_duration=settings.part_hold_back if settings.ll_hls else None,
        sink=run.sink,
        width=stats.width,
        height=stats.height,
    )
