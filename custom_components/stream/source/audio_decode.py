"""Camera audio decoded to float samples at the AAC track's rate and channels, for the AAC transcoder (worker thread).

Mono G.711, what most cameras send, is decoded by table: one byte is one sample, and a lookup in a 256-entry table
(filled by FFmpeg's own decoder once) costs a fraction of a decoder call and a resampler call per 20 ms packet. Its
bytes even wait undecoded until a whole AAC frame is there (one lookup per 6 packets): every call per packet counts,
as the worker wakes up for each one. Everything else goes through FFmpeg's decoder and resampler.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext
    from av.audio.frame import AudioFrame
    from av.audio.resampler import AudioResampler
    from numpy.typing import NDArray

_LOGGER = logging.getLogger(__name__)

type Samples = NDArray[np.float32]  # (channels, samples), planar, -1..1
type Block = Samples | bytes  # decoded samples, or mono G.711 bytes the decoder turns into samples later
G711_CODECS = frozenset({"pcm_mulaw", "pcm_alaw"})


class AudioDecoder(Protocol):
    """Decodes one packet into blocks of samples at the track's rate, each with the camera time it lasts."""

    name: str

    def decode(self, data: bytes) -> list[tuple[Block, int]]:
        """(block, duration in track samples) per decoded frame; raises av.FFmpegError or ValueError for a
        packet that does not decode."""
        ...

    def samples(self, blocks: list[Block]) -> Samples:
        """The blocks (and silence) as one array of samples."""
        ...


def audio_decoder(
    codec: str, sample_rate: int, channels: int, extradata: bytes | None, rate: int, layout: str
) -> AudioDecoder:
    """The decoder for a camera's audio, giving samples at `rate` in `layout` ("mono" or "stereo")."""
    if codec in G711_CODECS and channels == 1 and sample_rate == rate and layout == "mono":
        return G711Decoder(codec)
    return FFmpegDecoder(codec, sample_rate, channels, extradata, rate, layout)


@cache
def _g711_table(codec: str) -> Samples:
    """Every byte's sample, as FFmpeg's decoder reads it."""
    import av

    decoder: AudioCodecContext = av.CodecContext.create(codec, "r")  # type: ignore[assignment]
    decoder.sample_rate = 8000
    decoder.layout = "mono"
    (frame,) = decoder.decode(av.Packet(bytes(range(256))))
    return (frame.to_ndarray().reshape(256).astype(np.float32) / 32768).astype(np.float32)


class G711Decoder:
    """Mono G.711 by table lookup: every byte decodes, so it never raises."""

    def __init__(self, codec: str) -> None:
        self.name = codec
        self._table = _g711_table(codec)

    def decode(self, data: bytes) -> list[tuple[Block, int]]:
        return [(data, len(data))]

    def samples(self, blocks: list[Block]) -> Samples:
        if all(isinstance(block, bytes) for block in blocks):
            return self._table[np.frombuffer(b"".join(blocks), np.uint8)].reshape(1, -1)
        return np.concatenate([self._decoded(block) for block in blocks], axis=1)

    def _decoded(self, block: Block) -> Samples:
        return self._table[np.frombuffer(block, np.uint8)].reshape(1, -1) if isinstance(block, bytes) else block


class FFmpegDecoder:
    """FFmpeg's decoder for the codec, then its resampler to the track's format."""

    def __init__(
        self, codec: str, sample_rate: int, channels: int, extradata: bytes | None, rate: int, layout: str
    ) -> None:
        import av

        decoder: AudioCodecContext = av.CodecContext.create(codec, "r")  # type: ignore[assignment]
        if sample_rate:
            decoder.sample_rate = sample_rate
        if channels in (1, 2):  # PCM decoders need it; decoders of more channels read theirs from the stream
            decoder.layout = "mono" if channels == 1 else "stereo"
        if extradata:
            decoder.extradata = extradata
        self._decoder = decoder
        self.name = decoder.name
        self._rate = rate
        self._layout = layout
        self._resampler: AudioResampler | None = None
        self._input_format: tuple[str, str, int] | None = None

    def samples(self, blocks: list[Block]) -> Samples:
        arrays = [block for block in blocks if not isinstance(block, bytes)]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=1)

    def decode(self, data: bytes) -> list[tuple[Block, int]]:
        import av

        blocks: list[tuple[Block, int]] = []
        for frame in self._decoder.decode(av.Packet(data)):
            duration = round(frame.samples * self._rate / (frame.sample_rate or self._rate))
            resampled = [out.to_ndarray() for out in self._resample(frame)]
            if not resampled:  # a rate conversion holds the first few samples back
                continue
            samples = resampled[0] if len(resampled) == 1 else np.concatenate(resampled, axis=1)
            blocks.append((samples.astype(np.float32, copy=False), duration))
        return blocks

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
                    self._rate,
                    self._layout,
                )
            self._input_format = fmt
            self._resampler = av.AudioResampler(format="fltp", layout=self._layout, rate=self._rate)
        assert self._resampler is not None
        frame.pts = None
        return self._resampler.resample(frame)
