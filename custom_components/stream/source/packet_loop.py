"""The packet loop of one worker run (worker thread): every demuxed packet goes through a few named steps.

1. `_decode_time`: the packet's decode time, filled in where FFmpeg leaves it out;
2. `_accept`: the timestamp validator's verdict (drop it, or start a new timeline at a jump);
3. `_fan_out`: the live sink and snapshots get the packet before any muxing;
4. `_hold` or `_mux`: packets wait from the first keyframe until the fMP4 writer can be made (it needs the first
   keyframe and, for ADTS audio, the first audio frame), then go to the segmenter.

Video and AAC/MP3 audio are copied into fMP4, never decoded or encoded; other audio (G.711, Opus, ...) is
transcoded to AAC once here (`_transcode`, `audio_transcode.py`) and the AAC goes through steps 4 on. The common
path of a packet is a handful of attribute reads and calls: everything here runs for every packet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Buffer, Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, cast

from ..const import AUDIO_CODECS, PACKETS_TO_WAIT_FOR_AUDIO
from ..exceptions import StreamEndedError, StreamWorkerError
from ..remux.segmenter import Segmenter
from ..settings import non_ll_hls_settings
from .audio_transcode import AacTranscoder
from .run import LiveSink, WorkerRun
from .timestamps import TimestampValidator, Verdict
from .tracks import (
    AAC_FRAME_SAMPLES,
    NO_CLOCK,
    VIDEO_CODECS,
    TrackClock,
    adts_frame_ticks,
    describe_tracks,
    track_clock,
    video_track,
)

if TYPE_CHECKING:
    import av
    from av.audio.codeccontext import AudioCodecContext
    from av.container import InputContainer
    from av.stream import Stream as AvStream

    from ..remux.fmp4.tracks import AudioTrack
    from ..remux.fmp4.writer import Fmp4Writer

_LOGGER = logging.getLogger(__name__)

# A packet held until the writer exists: (is_video, dts, pts, keyframe, data).
type HeldPacket = tuple[bool, int, int, bool, bytes]

# Seconds a packet's pts may be away from its dts; further is damage, repaired by presenting it at its dts.
MAX_PTS_OFFSET = 10

# First keyframes in a row with unreadable parameter sets before a run gives up (a garbage keyframe is skipped; a
# source that never sends readable ones cannot be remuxed).
UNREADABLE_KEYFRAMES = 5


class PacketLoop:
    """One run over an open container: `run()` demuxes until the source ends, fails, or the run is told to quit."""

    def __init__(self, container: InputContainer, run: WorkerRun, *, silence_limit: float | None = None) -> None:
        """`silence_limit`: seconds one read may wait for a packet before the source counts as gone (a live camera
        whose reads are bounded by a socket timeout, see worker.LIVE_SILENCE_LIMIT); None for no such limit."""
        self._container = container
        self._run = run
        self._silence_limit = silence_limit
        self._stats = run.stats
        self._video, self._codec = video_track(container)
        # The camera's audio goes to live viewers whatever its codec (G.711 passes through to WebRTC); HLS carries
        # it as it is or transcoded to AAC (`_audio`).
        self._source_audio = self._known_audio(container)
        self._damage = run.damage
        self._transcoder: AacTranscoder | None = None  # for audio fMP4 cannot carry as it is
        self._audio = self._carried_audio()
        self._settings = run.settings
        if "hls" in container.format.name.split(","):
            self._settings = non_ll_hls_settings()  # an HLS input cannot feed shorter parts than its own segments
        self._video_clock = track_clock(self._video.time_base)
        self._audio_clock = track_clock(self._source_audio.time_base) if self._source_audio else NO_CLOCK
        self._video_check = TimestampValidator(self._video_clock.timescale)
        self._audio_check = TimestampValidator(self._audio_clock.timescale or 1)
        # The muxed audio track's timescale: the source's, or the AAC sample rate of transcoded audio.
        self._muxed_audio_scale = self._transcoder.sample_rate if self._transcoder else self._audio_clock.timescale
        self._writer: Fmp4Writer | None = None
        self._segmenter: Segmenter | None = None
        self._preroll: list[HeldPacket] = []
        self._first_audio: bytes | None = None
        self._audio_ready = (
            self._audio is None or self._transcoder is not None or bool(self._audio.codec_context.extradata)
        )
        self._audio_frame_ticks = self._packed_aac_frame_ticks()
        self._last_audio_dts: int | None = None
        self._carry_audio = False  # writer.has_audio, once there is a writer
        self._started = False
        self._unreadable_keyframes = 0  # first keyframes in a row whose parameter sets could not be read
        self._on_packet = self._stats.rates.on_packet
        self._live = run.live
        self._start_run()

    def _known_audio(self, container: InputContainer) -> AvStream | None:
        """The source's first audio stream, unless FFmpeg does not know its codec (no codec context to read)."""
        audio = container.streams.audio[0] if container.streams.audio else None
        # PyAV types the codec context as always there; a stream of a codec FFmpeg lacks has none.
        if audio is not None and cast("AudioCodecContext | None", audio.codec_context) is None:
            _LOGGER.warning("Playing without audio: FFmpeg does not know the camera's audio codec")
            self._stats.audio_codec = "unknown (not carried: FFmpeg does not know it)"
            return None
        return audio

    def _carried_audio(self) -> AvStream | None:
        """The source's audio when fMP4 carries it: as it is (AAC, MP3) or transcoded to AAC (`_transcoder`); the
        diagnostics' `audio_codec` says which. Audio FFmpeg cannot decode goes to live viewers only."""
        audio = self._source_audio
        if audio is None:
            return None
        actx = cast("AudioCodecContext", audio.codec_context)
        if actx.name in AUDIO_CODECS:
            self._stats.audio_codec = f"{actx.name} (passed through)"
            return audio
        try:
            self._transcoder = AacTranscoder(
                actx.name,
                actx.sample_rate,
                actx.layout.nb_channels,
                actx.extradata,
                _fraction(audio.time_base, actx.sample_rate),
                self._damaged_audio,
            )
        except ValueError as err:
            _LOGGER.warning("Playing without audio in HLS and recordings: %s", err)
            self._stats.audio_codec = f"{actx.name} (not carried: FFmpeg cannot decode it)"
            return None
        self._stats.audio_codec = f"aac (transcoded from {actx.name})"
        return audio

    def _damaged_audio(self, err: Exception) -> None:
        self._damage.report("audio to transcode", err)

    def _packed_aac_frame_ticks(self) -> int:
        """MPEG-TS packs several AAC frames into one PES packet and FFmpeg leaves all but the first without a dts
        when probing was short: such frames follow on from the previous one (1024 samples each)."""
        if self._transcoder is not None:
            return 0
        rate: int = self._audio.codec_context.sample_rate if self._audio is not None else 0  # type: ignore[attr-defined]
        scale = self._audio_clock.timescale
        return round(AAC_FRAME_SAMPLES * scale / rate) if rate and scale else 0

    def _start_run(self) -> None:
        """Statistics start over; the live sink learns what this run carries."""
        self._stats.rates.new_run()
        self._stats.container_format = self._container.format.name
        self._stats.video_codec = self._codec
        if self._live is None:
            return
        audio = self._source_audio
        video_source, audio_source = describe_tracks(self._video, self._codec, audio)
        self._live.start_run(
            video_source,
            self._video_clock.timescale,
            self._video.codec_context.extradata,
            audio_source,
            self._audio_clock.timescale,
            audio.codec_context.extradata if audio is not None else None,
        )

    # -- the loop ---------------------------------------------------------------------------------------------------

    def run(self) -> None:
        streams = [self._video] if self._source_audio is None else [self._video, self._source_audio]
        ended = self._pump(self._container.demux(*streams))
        self._flush_audio()
        if self._segmenter is not None:
            self._segmenter.flush()
        if ended and not self._run.quit.is_set():
            raise StreamEndedError("Stream ended; no additional packets")

    def _pump(self, demux: Iterator[av.Packet[AvStream]]) -> bool:
        """Hand every packet to `_handle`; True when the source ended, False when the run was told to quit."""
        import av

        quit_requested = self._run.quit.is_set
        handle = self._handle
        limit = self._silence_limit
        clock = time.monotonic
        while True:
            asked = clock()
            try:
                packet = next(demux)
            except StopIteration:
                return True
            except av.FFmpegError as err:
                raise StreamWorkerError(f"Error demuxing stream ({err.strerror or err})") from None
            if quit_requested():
                return False
            if limit is not None and (waited := clock() - asked) >= limit:
                raise StreamWorkerError(f"No media from the camera for {waited:.1f} s")
            if packet.size:  # not one of the flush packets at the end
                handle(packet)

    def _handle(self, packet: av.Packet[AvStream]) -> None:
        self._stats.packets += 1
        is_video = packet.stream is self._video
        if not is_video and self._audio is None:
            self._live_audio_only(packet)
            return
        raw_dts = self._decode_time(packet, is_video)
        if raw_dts is None and self._segmenter is None and not self._preroll:
            # Joining a camera mid-GOP, FFmpeg has no dts for the frames before the first keyframe: nothing could
            # play them anyway, and they are not the broken timestamps the validator guards against.
            return
        if not self._accept(is_video, raw_dts):
            return
        assert raw_dts is not None
        clock = self._video_clock if is_video else self._audio_clock
        dts, pts = _ticks(clock, raw_dts, packet.pts)
        if pts != dts and abs(pts - dts) > MAX_PTS_OFFSET * clock.timescale:
            pts = self._absurd_pts(is_video, dts, pts)
        keyframe = packet.is_keyframe if is_video else True
        self._on_packet(is_video, dts, clock.timescale, packet.size, keyframe)
        data = self._fan_out(packet, is_video, keyframe, pts)
        if not is_video and self._transcoder is not None:
            self._transcode(packet.pts if packet.pts is not None else raw_dts, data)
            return
        if self._writer is None:
            self._hold((is_video, dts, pts, keyframe, data))
            return
        self._mux(packet, is_video, dts, pts, keyframe, data)

    # -- the steps ----------------------------------------------------------------------------------------------------

    def _live_audio_only(self, packet: av.Packet[AvStream]) -> None:
        """Audio HLS does not carry, for live viewers only: no timestamp repair, the RTP clock follows the camera."""
        live = self._live
        if live is not None and live.active and packet.pts is not None:
            to_ticks = self._audio_clock.to_ticks
            self._live_audio(packet.pts if to_ticks is None else to_ticks(packet.pts), bytes(packet))

    def _decode_time(self, packet: av.Packet[AvStream], is_video: bool) -> int | None:
        raw_dts = packet.dts
        if is_video:
            if raw_dts is None and self._segmenter is None and packet.is_keyframe:
                return packet.pts if packet.pts is not None else 0  # a first keyframe without dts still starts
            return raw_dts
        if raw_dts is None and self._last_audio_dts is not None:
            if not self._audio_frame_ticks:
                self._audio_frame_ticks = adts_frame_ticks(bytes(packet), self._audio_clock.timescale)
            if self._audio_frame_ticks:
                raw_dts = self._last_audio_dts + self._audio_frame_ticks
        if raw_dts is not None:
            self._last_audio_dts = raw_dts
        return raw_dts

    def _absurd_pts(self, is_video: bool, dts: int, pts: int) -> int:
        """A presentation time far from the decode time is damage (no reorder delay is that long): shown at its
        decode time instead, as fMP4 could not even store the offset."""
        self._damage.report("video pts" if is_video else "audio pts", ValueError(f"pts {pts} is far from dts {dts}"))
        return dts

    def _accept(self, is_video: bool, raw_dts: int | None) -> bool:
        """False for a packet to drop; at a timestamp jump the stream starts a new timeline (a discontinuity)."""
        check = self._video_check if is_video else self._audio_check
        verdict = check.check(raw_dts)
        if verdict is Verdict.ACCEPT:
            return True
        if verdict is Verdict.DROP:
            return False
        _LOGGER.debug("Timestamp jump in %s track: starting a new timeline", "video" if is_video else "audio")
        self._stats.discontinuities += 1
        self._flush_audio()
        if self._segmenter is not None:
            self._segmenter.flush()
            self._run.on_discontinuity()
        self._video_check.reset()
        self._audio_check.reset()
        check.check(raw_dts)
        if self._writer is not None:
            self._segmenter = self._new_segmenter(self._writer)
        return True

    def _fan_out(self, packet: av.Packet[AvStream], is_video: bool, keyframe: bool, pts: int) -> bytes:
        """Live viewers and snapshots get the packet; its bytes are copied only for what keeps them (snapshots,
        live viewers, the preroll): the muxer copies video straight from the packet."""
        live = self._live
        if not is_video:
            data = bytes(packet)
            if live is not None and live.active:
                self._live_audio(pts, data)
            return data
        data = bytes(packet) if keyframe or self._writer is None else b""
        if keyframe:
            self._run.on_keyframe(self._codec, self._video.codec_context.extradata, data)
        if live is not None and (live.wants_video or keyframe):
            try:  # the live feed parses the camera's bytes: a damaged sample is lost to live viewers only
                live.video(pts, keyframe, data or bytes(packet))
            except Exception as err:  # whatever a bad sample raises there, the run goes on
                self._damage.report("live video", err)
        return data

    def _transcode(self, raw_pts: int, data: bytes) -> None:
        """Camera audio in, the AAC frames it completes out to the muxer (in the AAC track's timescale)."""
        transcoder = cast("AacTranscoder", self._transcoder)
        for dts, frame in transcoder.transcode(raw_pts, data):
            if self._writer is None:
                self._hold((False, dts, dts, True, frame))
            else:
                self._mux(frame, False, dts, dts, True, frame)

    def _flush_audio(self) -> None:
        """The transcoder's last frames of a timeline that ends, into its last part (not the next timeline's)."""
        if self._transcoder is None:
            return
        for dts, frame in self._transcoder.flush():
            if self._writer is not None:
                self._mux(frame, False, dts, dts, True, frame)

    def _live_audio(self, pts: int, data: bytes) -> None:
        """Audio for live viewers (passed through or transcoded): a frame the decoder rejects is dropped."""
        try:
            cast("LiveSink", self._live).audio(pts, data)
        except Exception as err:  # a decoder error drops that frame, never the run
            self._damage.report("live audio", err)

    def _hold(self, held: HeldPacket) -> None:
        """Keep packets from the first keyframe on until the writer can be made, then mux them all."""
        is_video, dts, _, keyframe, data = held
        preroll = self._preroll
        if is_video and (keyframe or preroll):
            preroll.append(held)
        elif not is_video:
            self._first_audio = data
            self._audio_ready = True
            if preroll:
                preroll.append((False, dts, dts, True, data))
        if preroll and (self._audio_ready or len(preroll) >= PACKETS_TO_WAIT_FOR_AUDIO):
            self._start_muxing()

    def _start_muxing(self) -> None:
        writer = self._make_writer()
        if writer is None:  # the held keyframe's parameter sets were unreadable: start again at the next keyframe
            self._preroll.clear()
            return
        self._writer = writer
        self._segmenter = self._new_segmenter(writer)
        self._carry_audio = writer.has_audio
        for is_video, dts, pts, keyframe, data in self._preroll:
            self._mux(data, is_video, dts, pts, keyframe, data)
        self._preroll.clear()

    def _mux(self, packet: Buffer, is_video: bool, dts: int, pts: int, keyframe: bool, data: bytes) -> None:
        writer = cast("Fmp4Writer", self._writer)
        segmenter = cast("Segmenter", self._segmenter)
        # A malformed sample (a NAL length past its end) is dropped: it never ends the run.
        if is_video:
            try:
                sample = writer.video_sample_data(packet)
            except ValueError as err:
                self._damage.report("fMP4 video", err)
                return
            segmenter.add_video(dts, pts, keyframe, sample)
        elif self._carry_audio:
            try:
                audio = writer.audio_sample_data(data)
            except ValueError as err:
                self._damage.report("fMP4 audio", err)
                return
            segmenter.add_audio(dts, audio)
        if not self._started and segmenter.started:
            self._started = True
            self._run.on_started()

    # -- the remux stage's objects ------------------------------------------------------------------------------------

    def _make_writer(self) -> Fmp4Writer | None:
        """The fMP4 writer for this run's tracks, from the first keyframe (and first audio frame) held; None when
        that keyframe's parameter sets are unreadable, up to `UNREADABLE_KEYFRAMES` times in a row (damage)."""
        from ..remux.fmp4.writer import Fmp4Writer, make_video_track

        ctx = self._video.codec_context
        try:
            track = make_video_track(
                self._codec,
                self._video_clock.timescale,
                ctx.width,
                ctx.height,
                ctx.extradata,
                first_keyframe=self._preroll[0][4],
            )
        except ValueError as err:
            self._unreadable_keyframes += 1
            if self._codec not in VIDEO_CODECS or self._unreadable_keyframes >= UNREADABLE_KEYFRAMES:
                raise StreamWorkerError(f"Cannot remux video: {err}") from None
            self._damage.report("keyframe parameter sets", err)
            return None
        writer = Fmp4Writer(track, self._audio_track())
        self._stats.width, self._stats.height = track.width, track.height
        return writer

    def _audio_track(self) -> AudioTrack | None:
        from ..remux.fmp4.writer import make_audio_track

        audio = self._audio
        if audio is None or not (audio.codec_context.extradata or self._first_audio is not None or self._transcoder):
            return None
        actx = cast("AudioCodecContext", audio.codec_context)
        aac = self._transcoder
        try:
            if aac is not None:
                return make_audio_track("aac", aac.sample_rate, aac.sample_rate, aac.channels, aac.config, None)
            return make_audio_track(
                actx.name,
                self._audio_clock.timescale,
                actx.sample_rate,
                actx.layout.nb_channels,
                actx.extradata,
                self._first_audio,
            )
        except ValueError as err:
            _LOGGER.warning("Playing without audio: %s", err)
            return None

    def _new_segmenter(self, writer: Fmp4Writer) -> Segmenter:
        """A segmenter for a new continuous run of `writer`'s tracks."""
        settings = self._settings
        return Segmenter(
            writer,
            self._run.timeline,
            video_timescale=self._video_clock.timescale,
            audio_timescale=self._muxed_audio_scale if writer.has_audio else None,
            part_target=settings.part_target_duration,
            min_segment_duration=settings.min_segment_duration,
            first_segment_duration=settings.part_hold_back if settings.ll_hls else None,
            sink=self._run.sink,
            width=self._stats.width,
            height=self._stats.height,
        )


def _ticks(clock: TrackClock, raw_dts: int, raw_pts: int | None) -> tuple[int, int]:
    """(dts, pts) in the track's timescale; a packet without pts is presented when it is decoded."""
    to_ticks = clock.to_ticks
    if to_ticks is None:
        return raw_dts, raw_pts if raw_pts is not None else raw_dts
    dts = to_ticks(raw_dts)
    return dts, to_ticks(raw_pts) if raw_pts is not None else dts


def _fraction(time_base: object, sample_rate: int) -> Fraction:
    """A stream's time base as a Fraction (1/sample rate when the stream has none)."""
    numerator, denominator = getattr(time_base, "numerator", 0), getattr(time_base, "denominator", 0)
    return Fraction(numerator, denominator) if numerator and denominator else Fraction(1, sample_rate or 1)
