"""Camera audio that WebRTC cannot carry as is (AAC, MP3, ...) re-encoded to Opus, once per camera (worker thread).

Every viewer of the camera shares the result; G.711 and Opus pass through untouched and never come here.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import TYPE_CHECKING

from .frames import LiveAudioFrame

if TYPE_CHECKING:
    from av.audio.codeccontext import AudioCodecContext
    from av.audio.resampler import AudioResampler

_LOGGER = logging.getLogger(__name__)

OPUS_CLOCK_RATE = 48000
OPUS_BITRATE = 32000  # speech and ambience from a camera microphone: plenty, and small next to the video
MAX_AUDIO_DRIFT = OPUS_CLOCK_RATE // 10  # counted samples may run this far from the camera's timestamps
MAX_BAD_PACKETS = 50  # audio packets in a row that do not decode before live audio stops for the run (~1 s)


class OpusTranscoder:
    """Decode the camera's audio packets and encode 20 ms Opus packets at 48 kHz stereo (WebRTC's opus/48000/2)."""

    def __init__(self, codec: str, sample_rate: int, channels: int, extradata: bytes | None, run: int) -> None:
        import av

        self._run = run
        self._decoder: AudioCodecContext = av.CodecContext.create(codec, "r")  # type: ignore[assignment]
        if sample_rate:
            self._decoder.sample_rate = sample_rate
        if extradata:
            self._decoder.extradata = extradata
        self._encoder: AudioCodecContext = av.CodecContext.create("libopus", "w")
        self._encoder.sample_rate = OPUS_CLOCK_RATE
        self._encoder.layout = "stereo"
        self._encoder.format = av.AudioFormat("s16")
        self._encoder.bit_rate = OPUS_BITRATE
        self._encoder.time_base = Fraction(1, OPUS_CLOCK_RATE)
        self._resampler: AudioResampler = av.AudioResampler(
            format="s16", layout="stereo", rate=OPUS_CLOCK_RATE, frame_size=960
        )
        self._next_pts: int | None = None
        self._failed = False
        self._errors = 0  # packets in a row that did not transcode

    def transcode(self, pts_seconds: float, data: bytes) -> list[LiveAudioFrame]:
        """Opus packets for one camera audio packet (none while the encoder fills its first frame)."""
        import av

        if self._failed or not data:
            return []  # an empty packet would flush the decoder, which then takes no more
        try:
            frames: list[LiveAudioFrame] = []
            for decoded in self._decoder.decode(av.Packet(data)):
                expected = round(pts_seconds * OPUS_CLOCK_RATE)
                if self._next_pts is None or abs(self._next_pts - expected) > MAX_AUDIO_DRIFT:
                    self._next_pts = expected  # the camera skipped audio: follow its clock again
                decoded.pts = None
                for resampled in self._resampler.resample(decoded):
                    resampled.pts = self._next_pts
                    resampled.time_base = Fraction(1, OPUS_CLOCK_RATE)
                    self._next_pts += resampled.samples
                    for packet in self._encoder.encode(resampled):
                        pts = packet.pts if packet.pts is not None else resampled.pts
                        frames.append(LiveAudioFrame(self._run, pts, OPUS_CLOCK_RATE, "opus", bytes(packet)))
        except (av.FFmpegError, ValueError) as err:
            return self._damaged(err)
        self._errors = 0
        return frames

    def _damaged(self, err: Exception) -> list[LiveAudioFrame]:
        """A packet that does not decode is dropped (ValueError, for the packet loop's rate-limited log); after
        `MAX_BAD_PACKETS` in a row the camera's audio is taken as undecodable and live audio stops for this run."""
        self._errors += 1
        if self._errors < MAX_BAD_PACKETS:
            raise ValueError(f"cannot transcode a {self._decoder.name} packet to Opus ({err})") from None
        # A camera whose audio we cannot decode still streams its video.
        _LOGGER.warning("Live audio disabled: cannot transcode %s to Opus (%s)", self._decoder.name, err)
        self._failed = True
        return []
