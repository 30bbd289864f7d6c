"""Camera audio that fMP4 cannot carry as it is (G.711, Opus, ...) re-encoded to AAC-LC, once per camera (worker
thread), for every HLS viewer, recording and Cast device alike.

Timing follows the camera's clock: every decoded frame is placed at its own timestamp, converted to samples of the
AAC track. Counted samples never drift from it: a hole (a lost packet, a packet that does not decode) is filled
with silence, so the sound after it keeps its place; a hole longer than `MAX_SILENCE` starts the encoder's timeline
again at the camera's time instead of encoding seconds of silence; audio that comes back in time (duplicates) is
dropped. The AAC encoder's priming (1024 samples: it delays what it encodes by one frame) is taken out of the
timestamps rather than signalled with an edit list: FFmpeg stamps each packet with the time of the first sample its
decoder output holds, priming included, so a player that decodes the track from its first packet plays each sample
at the time the camera gave it. The priming packet itself falls before the first keyframe and is never muxed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING

from ..remux.fmp4.aac import SAMPLE_RATES

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext
    from av.audio.frame import AudioFrame
    from av.audio.resampler import AudioResampler

_LOGGER = logging.getLogger(__name__)

AAC_FRAME = 1024  # samples per AAC-LC frame
MAX_SILENCE = 1.0  # seconds of missing audio filled with silence; a longer hole starts a new timeline
MAX_AHEAD = 0.1  # seconds audio may come back in time (jitter) before frames are dropped as duplicates
FALLBACK_RATE = 48000  # for a decoded rate AAC has no index for
# Bits per second per channel: 3 bits a sample (24 kbit/s for 8 kHz G.711), at most 64 kbit/s.
BITS_PER_SAMPLE = 3
MAX_CHANNEL_BITRATE = 64000

type AacPacket = tuple[int, bytes]  # (decode time in the AAC track's timescale = its sample rate, raw frame)


def aac_sample_rate(source_rate: int) -> int:
    """The AAC track's rate: the camera's own when AAC has an index for it (8 kHz G.711 stays 8 kHz: the least
    work, and what MSE, Safari and Cast decode), else 48 kHz."""
    return source_rate if source_rate in SAMPLE_RATES[:-1] else FALLBACK_RATE


class AacTranscoder:
    """Decode one camera's audio packets and encode AAC-LC packets timed on the camera's clock."""

    def __init__(
        self,
        codec: str,
        sample_rate: int,
        channels: int,
        extradata: bytes | None,
        time_base: Fraction,
        on_damage: Callable[[Exception], None],
    ) -> None:
        """Raises ValueError when FFmpeg cannot decode `codec` or the encoder does not open; `on_damage` hears of
        each packet that does not decode (its time becomes silence)."""
        import av

        self._on_damage = on_damage
        try:
            self._decoder = _decoder(codec, sample_rate, channels, extradata)
            self.sample_rate = aac_sample_rate(sample_rate or self._decoder.sample_rate)
            self.channels = 1 if channels == 1 else 2  # more are mixed down to stereo
            self.layout = "mono" if self.channels == 1 else "stereo"
            self._encoder = self._open_encoder()
        except (av.FFmpegError, ValueError) as err:
            raise ValueError(f"cannot transcode {codec} audio to AAC ({err})") from None
        self.codec = self._decoder.name
        self.config = bytes(self._encoder.extradata or b"")  # the AudioSpecificConfig, known before any packet
        self._to_samples = time_base * self.sample_rate
        self._resampler: AudioResampler | None = None
        self._input_format: tuple[str, str, int] | None = None
        self._fifo = av.AudioFifo()
        self._fifo_start: int | None = None  # track time of the first sample in the FIFO; None before any

    @property
    def _next(self) -> int:
        """Track time of the next sample to encode (after those waiting in the FIFO)."""
        return (self._fifo_start or 0) + self._fifo.samples

    def _open_encoder(self) -> AudioCodecContext:
        import av

        encoder: AudioCodecContext = av.CodecContext.create("aac", "w")
        encoder.sample_rate = self.sample_rate
        encoder.layout = self.layout
        encoder.format = av.AudioFormat("fltp")
        encoder.bit_rate = self.channels * min(MAX_CHANNEL_BITRATE, BITS_PER_SAMPLE * self.sample_rate)
        encoder.time_base = Fraction(1, self.sample_rate)
        encoder.open()
        return encoder

    def transcode(self, pts: int, data: bytes) -> list[AacPacket]:
        """AAC packets for one camera packet with presentation time `pts` (in the source's time base); often none,
        as one AAC frame holds 1024 samples. A packet that does not decode goes to `on_damage`; the silence
        before it is encoded, its own time is silence once the next packet decodes."""
        import av

        if not data:
            return []  # an empty packet would flush the decoder, which then takes no more
        expected = round(pts * self._to_samples)
        try:
            frames = self._decoder.decode(av.Packet(data))
        except (av.FFmpegError, ValueError) as err:
            self._on_damage(ValueError(f"{self.codec} packet does not decode ({err})"))
            return self._fill_to(expected)
        if not frames and self._fifo_start is not None:
            # Some decoders (FFmpeg's Opus) drop a malformed packet without an error. A decoder that has started
            # has no delay left to explain an empty answer.
            self._on_damage(ValueError(f"{self.codec} packet decoded to nothing"))
            return self._fill_to(expected)
        out: list[AacPacket] = []
        for frame in frames:
            out += self._add(expected, frame)
            expected += round(frame.samples * self.sample_rate / (frame.sample_rate or self.sample_rate))
        return out

    def flush(self) -> list[AacPacket]:
        """The rest of the timeline so far (the run ended or its timeline jumped): the partial frame completed with
        silence and what the encoder holds. A fresh encoder then starts the next timeline at the camera's time."""
        import av

        out: list[AacPacket] = []
        if self._fifo.samples:
            self._fifo.write(self._silence(AAC_FRAME - self._fifo.samples))
            out = self._encode_ready()
        if self._fifo_start is not None:
            out += [(packet.pts, bytes(packet)) for packet in self._encoder.encode(None) if packet.pts is not None]
            self._encoder = self._open_encoder()
        self._fifo = av.AudioFifo()
        self._fifo_start = None
        return out

    def _add(self, expected: int, frame: AudioFrame) -> list[AacPacket]:
        out: list[AacPacket] = []
        if self._fifo_start is None:
            self._fifo_start = expected
        drift = expected - self._next
        if drift < -MAX_AHEAD * self.sample_rate:
            return out  # this stretch was encoded already
        if drift > max(1, frame.samples // 2):
            out += self._fill_to(expected)
        for resampled in self._resample(frame):
            resampled.pts = None
            self._fifo.write(resampled)
        return out + self._encode_ready()

    def _fill_to(self, expected: int) -> list[AacPacket]:
        """Silence up to track time `expected`; past `MAX_SILENCE`, the timeline starts again there."""
        if self._fifo_start is None:
            return []
        hole = expected - self._next
        if hole <= 0:
            return []
        if hole <= MAX_SILENCE * self.sample_rate:
            self._fifo.write(self._silence(hole))
            return self._encode_ready()
        out = []
        if self._fifo.samples:  # the last sound before the hole, completed to a frame
            self._fifo.write(self._silence(AAC_FRAME - self._fifo.samples))
            out = self._encode_ready()
        self._fifo_start = expected
        return out

    def _encode_ready(self) -> list[AacPacket]:
        out: list[AacPacket] = []
        fifo = self._fifo
        while fifo.samples >= AAC_FRAME:
            frame = fifo.read(AAC_FRAME)
            assert frame is not None
            assert self._fifo_start is not None
            frame.pts = self._fifo_start
            frame.time_base = self._encoder.time_base
            self._fifo_start += AAC_FRAME
            for packet in self._encoder.encode(frame):
                if packet.pts is not None:
                    out.append((packet.pts, bytes(packet)))
        return out

    def _resample(self, frame: AudioFrame) -> list[AudioFrame]:
        """`frame` in the encoder's format; a camera that changes its rate or channels mid-stream is resampled to
        the track's, which an init segment fixes for the run."""
        import av

        fmt = (frame.format.name, frame.layout.name, frame.sample_rate)
        if fmt != self._input_format:
            if self._input_format is not None:
                _LOGGER.warning(
                    "Camera audio changed from %s to %s (format, channels, Hz): resampled to the AAC track's %d Hz %s",
                    self._input_format,
                    fmt,
                    self.sample_rate,
                    self.layout,
                )
            self._input_format = fmt
            self._resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.sample_rate)
        assert self._resampler is not None
        frame.pts = None
        return self._resampler.resample(frame)

    def _silence(self, samples: int) -> AudioFrame:
        import av

        frame = av.AudioFrame(format="fltp", layout=self.layout, samples=samples)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = self.sample_rate
        return frame


def _decoder(codec: str, sample_rate: int, channels: int, extradata: bytes | None) -> AudioCodecContext:
    import av

    decoder: AudioCodecContext = av.CodecContext.create(codec, "r")  # type: ignore[assignment]
    if sample_rate:
        decoder.sample_rate = sample_rate
    if channels in (1, 2):  # PCM decoders need it; decoders of more channels read theirs from the stream
        decoder.layout = "mono" if channels == 1 else "stereo"
    if extradata:
        decoder.extradata = extradata
    return decoder
