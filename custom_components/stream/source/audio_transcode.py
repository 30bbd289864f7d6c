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

from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from ..remux.fmp4.aac import SAMPLE_RATES
from .audio_decode import Block, Samples, audio_decoder

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext

AAC_FRAME = 1024  # samples per AAC-LC frame
MAX_SILENCE = 1.0  # seconds of missing audio filled with silence; a longer hole starts a new timeline
MAX_AHEAD = 0.1  # seconds audio may come back in time (jitter) before frames are dropped as duplicates
FALLBACK_RATE = 48000  # for a decoded rate AAC has no index for
# Bits per second per channel: 3 bits a sample (24 kbit/s for 8 kHz G.711), at most 64 kbit/s.
BITS_PER_SAMPLE = 3
MAX_CHANNEL_BITRATE = 64000
# FFmpeg's "fast" coder: half the CPU of its default (two-loop search) for camera sound, at the same bitrate.
ENCODER_OPTIONS = {"aac_coder": "fast"}

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
        self.sample_rate = aac_sample_rate(sample_rate or FALLBACK_RATE)
        self.channels = 1 if channels == 1 else 2  # more are mixed down to stereo
        self.layout = "mono" if self.channels == 1 else "stereo"
        try:
            self._decoder = audio_decoder(codec, sample_rate, channels, extradata, self.sample_rate, self.layout)
            self._encoder = self._open_encoder()
        except (av.FFmpegError, ValueError) as err:
            raise ValueError(f"cannot transcode {codec} audio to AAC ({err})") from None
        self.codec = self._decoder.name
        self.config = bytes(self._encoder.extradata or b"")  # the AudioSpecificConfig, known before any packet
        to_samples = time_base * self.sample_rate  # integer arithmetic per packet: a Fraction's costs microseconds
        self._scale, self._divisor = to_samples.numerator, to_samples.denominator
        self._blocks: list[Block] = []  # samples not yet encoded (less than a frame between packets)
        self._buffered = 0  # ... how many
        self._start: int | None = None  # track time of the first of them; None before any sound

    @property
    def _next(self) -> int:
        """Track time of the next sample to encode (after those waiting)."""
        return (self._start or 0) + self._buffered

    def _open_encoder(self) -> AudioCodecContext:
        import av

        encoder: AudioCodecContext = av.CodecContext.create("aac", "w")
        encoder.sample_rate = self.sample_rate
        encoder.layout = self.layout
        encoder.format = av.AudioFormat("fltp")
        encoder.bit_rate = self.channels * min(MAX_CHANNEL_BITRATE, BITS_PER_SAMPLE * self.sample_rate)
        encoder.time_base = Fraction(1, self.sample_rate)
        encoder.options = dict(ENCODER_OPTIONS)
        encoder.open()
        return encoder

    def transcode(self, pts: int, data: bytes) -> list[AacPacket]:
        """AAC packets for one camera packet with presentation time `pts` (in the source's time base); often none,
        as one AAC frame holds 1024 samples. A packet that does not decode goes to `on_damage`; the silence
        before it is encoded, its own time is silence once the next packet decodes."""
        import av

        if not data:
            return []  # an empty packet would flush the decoder, which then takes no more
        expected = (2 * pts * self._scale + self._divisor) // (2 * self._divisor)  # rounded, half up
        try:
            blocks = self._decoder.decode(data)
        except (av.FFmpegError, ValueError) as err:
            self._on_damage(ValueError(f"{self.codec} packet does not decode ({err})"))
            return self._fill_to(expected)
        if not blocks and self._start is not None:
            # Some decoders (FFmpeg's Opus) drop a malformed packet without an error. A decoder that has started
            # has no delay left to explain an empty answer.
            self._on_damage(ValueError(f"{self.codec} packet decoded to nothing"))
            return self._fill_to(expected)
        out: list[AacPacket] = []
        for block, duration in blocks:
            out += self._add(expected, block)
            expected += duration
        return out

    def flush(self) -> list[AacPacket]:
        """The rest of the timeline so far (the run ended or its timeline jumped): the partial frame completed with
        silence and what the encoder holds. A fresh encoder then starts the next timeline at the camera's time."""
        out: list[AacPacket] = []
        if self._buffered:
            self._push(self._silence(AAC_FRAME - self._buffered))
            out = self._encode_ready()
        if self._start is not None:
            out += [(packet.pts, bytes(packet)) for packet in self._encoder.encode(None) if packet.pts is not None]
            self._encoder = self._open_encoder()
        self._start = None
        return out

    def _add(self, expected: int, block: Block) -> list[AacPacket]:
        out: list[AacPacket] = []
        if self._start is None:
            self._start = expected
        drift = expected - self._next
        if drift < -MAX_AHEAD * self.sample_rate:
            return out  # this stretch was encoded already
        if drift > max(1, _length(block) // 2):
            out += self._fill_to(expected)
        self._push(block)
        return out + self._encode_ready()

    def _fill_to(self, expected: int) -> list[AacPacket]:
        """Silence up to track time `expected`; past `MAX_SILENCE`, the timeline starts again there."""
        if self._start is None:
            return []
        hole = expected - self._next
        if hole <= 0:
            return []
        if hole <= MAX_SILENCE * self.sample_rate:
            self._push(self._silence(hole))
            return self._encode_ready()
        out = []
        if self._buffered:  # the last sound before the hole, completed to a frame
            self._push(self._silence(AAC_FRAME - self._buffered))
            out = self._encode_ready()
        self._start = expected
        return out

    def _push(self, block: Block) -> None:
        self._blocks.append(block)
        self._buffered += _length(block)

    def _encode_ready(self) -> list[AacPacket]:
        """Encode every whole frame waiting; the rest waits for the next packet."""
        import av

        if self._buffered < AAC_FRAME:
            return []
        assert self._start is not None
        waiting = self._decoder.samples(self._blocks)
        whole = self._buffered - self._buffered % AAC_FRAME
        out: list[AacPacket] = []
        for at in range(0, whole, AAC_FRAME):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(waiting[:, at : at + AAC_FRAME]), format="fltp", layout=self.layout
            )
            frame.sample_rate = self.sample_rate
            frame.pts = self._start
            frame.time_base = self._encoder.time_base
            self._start += AAC_FRAME
            out += [(packet.pts, bytes(packet)) for packet in self._encoder.encode(frame) if packet.pts is not None]
        rest = waiting[:, whole:]
        self._blocks = [rest] if rest.shape[1] else []
        self._buffered = rest.shape[1]
        return out

    def _silence(self, samples: int) -> Samples:
        return np.zeros((self.channels, samples), np.float32)


def _length(block: Block) -> int:
    """Samples in a block (a G.711 byte is a sample)."""
    return len(block) if isinstance(block, bytes) else block.shape[1]
