"""The AAC transcoder for camera audio fMP4 cannot carry (source/audio_transcode.py), on real G.711, Opus and MP2
made with PyAV's encoders, checked by decoding its AAC with FFmpeg's decoder: where each sound lands, gaps, the
encoder's priming, restarts and damaged input."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from fractions import Fraction

import av
import numpy as np
import pytest

from custom_components.stream.remux.fmp4.aac import parse_audio_specific_config
from custom_components.stream.remux.fmp4.codecs import aac_codec_string
from custom_components.stream.source.audio_transcode import AAC_FRAME, MAX_SILENCE, AacPacket, AacTranscoder

G711_RATE = 8000
PACKET = 160  # samples in a 20 ms G.711 packet, as cameras send them
TONE = 1000.0  # Hz
BURST = 0.1  # seconds of tone at each onset
START = 123_456  # the camera's first timestamp: an RTP clock starts anywhere


@dataclass
class Damage:
    errors: list[Exception] = field(default_factory=list)

    def __call__(self, err: Exception) -> None:
        self.errors.append(err)


def bursts(seconds: float, rate: int, onsets: list[float]) -> np.ndarray:
    """Silence with a 1 kHz tone burst starting at each of `onsets` (seconds from the start)."""
    signal = np.zeros(round(seconds * rate), dtype=np.float32)
    for onset in onsets:
        first = round(onset * rate)
        length = round(BURST * rate)
        t = np.arange(length) / rate
        signal[first : first + length] = 0.5 * np.sin(2 * np.pi * TONE * t)
    return signal


def encode_packets(codec: str, signal: np.ndarray, rate: int, samples_per_packet: int) -> list[tuple[int, bytes]]:
    """(pts in samples from 0, payload) of `signal` encoded with PyAV's `codec` encoder."""
    encoder = av.CodecContext.create(codec, "w")
    assert isinstance(encoder, av.AudioCodecContext)
    encoder.sample_rate = rate
    encoder.layout = "mono"
    formats = encoder.codec.audio_formats or [av.AudioFormat("s16")]
    encoder.format = av.AudioFormat("s16" if codec.startswith("pcm") else formats[0].name)
    encoder.time_base = Fraction(1, rate)
    encoder.open()
    size = encoder.frame_size or samples_per_packet
    packets: list[tuple[int, bytes]] = []
    for start in range(0, len(signal) - size + 1, size):
        chunk = signal[start : start + size]
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        for resampled in av.AudioResampler(format=encoder.format.name, layout="mono", rate=rate).resample(frame):
            resampled.pts = start
            packets += [(p.pts if p.pts is not None else start, bytes(p)) for p in encoder.encode(resampled)]
    return packets


def pcmu(signal: np.ndarray) -> list[tuple[int, bytes]]:
    return encode_packets("pcm_mulaw", signal, G711_RATE, PACKET)


def decode_aac(transcoder: AacTranscoder, packets: list[AacPacket]) -> tuple[int, np.ndarray]:
    """(track time of the first decoded sample, the samples) as a player decoding the track from its first packet
    hears them: each packet's output at the packet's decode time."""
    decoder = av.CodecContext.create("aac", "r")
    assert isinstance(decoder, av.AudioCodecContext)
    decoder.extradata = transcoder.config
    first = packets[0][0]
    out = np.zeros(packets[-1][0] - first + AAC_FRAME, dtype=np.float32)
    for dts, data in packets:
        for frame in decoder.decode(av.Packet(data)):
            samples = frame.to_ndarray()[0]
            out[dts - first : dts - first + len(samples)] = samples
    return first, out


def onsets(start: int, samples: np.ndarray, rate: int) -> list[float]:
    """Seconds (track time) where the level first rises past a quarter of the tone's after at least 0.2 s quiet."""
    loud = np.flatnonzero(np.abs(samples) > 0.125)
    found: list[float] = []
    last = -rate
    for index in loud:
        if index - last > 0.2 * rate:
            found.append((start + index) / rate)
        last = index
    return found


def transcode(transcoder: AacTranscoder, packets: list[tuple[int, bytes]], offset: int = START) -> list[AacPacket]:
    out: list[AacPacket] = []
    for pts, data in packets:
        out += transcoder.transcode(pts + offset, data)
    return out


def g711_transcoder(damage: Damage | None = None, codec: str = "pcm_mulaw") -> AacTranscoder:
    return AacTranscoder(codec, G711_RATE, 1, None, Fraction(1, G711_RATE), damage or Damage())


def test_g711_becomes_aac_lc_at_its_own_rate() -> None:
    transcoder = g711_transcoder()
    packets = transcode(transcoder, pcmu(bursts(3, G711_RATE, [0.5])))

    assert aac_codec_string(transcoder.config) == "mp4a.40.2"
    assert parse_audio_specific_config(transcoder.config) == (2, 8000, 1)
    dts = [d for d, _ in packets]
    assert all(b - a == AAC_FRAME for a, b in itertools.pairwise(dts))
    # The first packet is the encoder's priming, one frame before the first sample; all the input is encoded but
    # what waits in the encoder.
    assert dts[0] == START - AAC_FRAME
    assert len(packets) >= 3 * G711_RATE // AAC_FRAME - 1


@pytest.mark.parametrize("codec", ["pcm_mulaw", "pcm_alaw"])
def test_each_sound_lands_at_the_cameras_time(codec: str) -> None:
    """The priming is out of the timestamps: a tone burst decodes where the camera put it (not 128 ms late)."""
    sent = [0.5, 1.5, 2.25, 3.0]
    transcoder = g711_transcoder(codec=codec)
    signal = bursts(4, G711_RATE, sent)
    packets = transcode(transcoder, encode_packets(codec, signal, G711_RATE, PACKET))

    heard = onsets(*decode_aac(transcoder, packets), G711_RATE)

    expected = [START / G711_RATE + onset for onset in sent]
    assert len(heard) == len(expected)
    for got, want in zip(heard, expected, strict=True):
        assert got == pytest.approx(want, abs=0.005)


def test_opus_at_48_khz() -> None:
    rate = 48000
    signal = bursts(2, rate, [0.5, 1.25])
    packets = encode_packets("libopus", signal, rate, 960)
    transcoder = AacTranscoder("opus", rate, 1, None, Fraction(1, rate), Damage())
    aac = transcode(transcoder, packets, offset=0)

    assert parse_audio_specific_config(transcoder.config) == (2, 48000, 1)
    heard = onsets(*decode_aac(transcoder, aac), rate)
    # Opus itself delays its output by its pre-skip (312 samples here, which its decoder drops): at most 7 ms.
    assert heard == [pytest.approx(0.5, abs=0.01), pytest.approx(1.25, abs=0.01)]


def test_a_lost_packet_stays_a_gap_of_silence() -> None:
    """Five lost packets (100 ms): the sound after them keeps its time; the track has no hole in its timestamps."""
    transcoder = g711_transcoder()
    packets = pcmu(bursts(3, G711_RATE, [0.5, 2.0]))
    lost = {pts for pts, _ in packets if 1.0 * G711_RATE <= pts < 1.1 * G711_RATE}
    aac = transcode(transcoder, [(pts, data) for pts, data in packets if pts not in lost])

    dts = [d for d, _ in aac]
    assert all(b - a == AAC_FRAME for a, b in itertools.pairwise(dts))
    heard = onsets(*decode_aac(transcoder, aac), G711_RATE)
    assert heard == [pytest.approx(START / G711_RATE + t, abs=0.005) for t in (0.5, 2.0)]


def test_a_long_gap_starts_the_timeline_again_at_the_cameras_time() -> None:
    """A hole longer than MAX_SILENCE is not filled: the AAC track jumps with the camera's clock."""
    transcoder = g711_transcoder()
    before = pcmu(bursts(1, G711_RATE, [0.5]))
    after_start = round((1 + MAX_SILENCE + 2.5) * G711_RATE)
    aac = transcode(transcoder, before)
    aac += transcode(transcoder, pcmu(bursts(2, G711_RATE, [0.5])), offset=START + after_start)

    dts = [d for d, _ in aac]
    steps = [b - a for a, b in itertools.pairwise(dts)]
    assert sorted(set(steps))[0] == AAC_FRAME
    jumps = [step for step in steps if step != AAC_FRAME]
    assert len(jumps) == 1
    assert jumps[0] > (MAX_SILENCE + 2) * G711_RATE
    # The burst after the gap lands where the camera put it.
    resumed = next(i for i, step in enumerate(steps) if step != AAC_FRAME) + 1
    start, samples = decode_aac(transcoder, aac[resumed:])
    assert onsets(start, samples, G711_RATE)[-1] == pytest.approx((START + after_start) / G711_RATE + 0.5, abs=0.005)


def test_no_drift_over_ten_minutes_of_jittery_timestamps() -> None:
    """Timestamps with ±5 ms of jitter around the true clock: the AAC track ends where the camera's clock does."""
    rng = random.Random(7)
    transcoder = g711_transcoder()
    minutes = 10
    packet = 1024  # larger packets keep the test short; the arithmetic is the same
    payload = bytes([0xFF]) * packet  # µ-law silence
    aac: list[AacPacket] = []
    for index in range(minutes * 60 * G711_RATE // packet):
        jitter = rng.randint(-40, 40)
        aac += transcoder.transcode(START + index * packet + jitter, payload)

    end = START + minutes * 60 * G711_RATE
    assert abs(aac[-1][0] + 3 * AAC_FRAME - end) <= 2 * AAC_FRAME  # what is still inside the encoder
    dts = [d for d, _ in aac]
    assert dts == sorted(set(dts))


def test_flush_ends_a_timeline_and_the_next_starts_fresh() -> None:
    """After a discontinuity the camera's clock restarts lower: no packet of the old timeline comes out after."""
    transcoder = g711_transcoder()
    old = transcode(transcoder, pcmu(bursts(2, G711_RATE, [0.5])), offset=10 * G711_RATE)
    old += transcoder.flush()
    aac = transcode(transcoder, pcmu(bursts(2, G711_RATE, [0.5])), offset=0)

    # The flush completed the old timeline: its AAC covers all of its two seconds, in frames.
    assert old[-1][0] + AAC_FRAME >= 12 * G711_RATE
    assert aac[0][0] == -AAC_FRAME  # a fresh encoder's priming, at the new time
    assert max(d for d, _ in aac) < 2 * G711_RATE


def test_a_sample_rate_change_mid_stream_is_resampled(caplog: pytest.LogCaptureFixture) -> None:
    """MP2 switching from 32 to 48 kHz (each frame says its rate): one log line, the track stays at 32 kHz."""
    first = encode_packets("mp2", bursts(1, 32000, [0.25]), 32000, 1152)
    second = encode_packets("mp2", bursts(1, 48000, [0.25]), 48000, 1152)
    transcoder = AacTranscoder("mp2", 32000, 1, None, Fraction(1, 90000), Damage())
    aac = transcode(transcoder, [(pts * 90000 // 32000, data) for pts, data in first], offset=0)
    aac += transcode(transcoder, [(90000 + pts * 90000 // 48000, data) for pts, data in second], offset=0)

    assert transcoder.sample_rate == 32000
    assert len([r for r in caplog.records if "Camera audio changed" in r.message]) == 1
    heard = onsets(*decode_aac(transcoder, aac), 32000)
    # MP2 itself delays its sound by about 10 ms (its filter bank), which the camera's own timestamps include.
    assert heard == [pytest.approx(0.25, abs=0.02), pytest.approx(1.25, abs=0.02)]


def test_a_codec_ffmpeg_cannot_decode_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot transcode"):
        AacTranscoder("no_such_codec", 8000, 1, None, Fraction(1, 8000), Damage())


def test_garbage_opus_becomes_silence_on_time() -> None:
    """Random payloads, empty ones and truncated real packets: reported as damage, never raised; the track keeps
    following the camera's clock with silence, so the video never waits for audio."""
    rng = random.Random(16)
    damage = Damage()
    transcoder = AacTranscoder("opus", 48000, 1, None, Fraction(1, 48000), damage)
    real = encode_packets("libopus", bursts(1, 48000, [0.5]), 48000, 960)
    aac: list[AacPacket] = []
    for index in range(1500):  # 30 s of 20 ms packets
        kind = rng.randrange(4)
        real_data = real[index % len(real)][1]
        data = [
            bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))),
            b"",
            real_data[: rng.randrange(len(real_data) + 1)],
            real_data,
        ][kind]
        aac += transcoder.transcode(index * 960, data)
    for index in range(1500, 1505):  # sound again
        aac += transcoder.transcode(index * 960, real[index % len(real)][1])

    assert damage.errors
    assert all(isinstance(err, ValueError) for err in damage.errors)
    dts = [d for d, _ in aac]
    assert all(b - a == AAC_FRAME for a, b in itertools.pairwise(dts))
    # Behind the end by what the encoder holds: its delay, the frame it is encoding, the FIFO's partial frame.
    assert 1505 * 960 - 4 * AAC_FRAME < dts[-1] <= 1505 * 960 - 3 * AAC_FRAME


def test_garbage_g711_is_just_noise() -> None:
    """Every byte is a valid G.711 sample: random payloads of any size decode and keep their time."""
    rng = random.Random(17)
    damage = Damage()
    transcoder = g711_transcoder(damage)
    aac: list[AacPacket] = []
    pts = 0
    for _ in range(500):
        size = rng.randrange(0, 400)
        aac += transcoder.transcode(pts, rng.randbytes(size))
        pts += size
    assert not damage.errors
    dts = [d for d, _ in aac]
    assert all(b - a == AAC_FRAME for a, b in itertools.pairwise(dts))
