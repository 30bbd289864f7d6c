"""Helpers for the fuzz tests: real camera samples (tiny H.264/HEVC files made with ffmpeg, demuxed with PyAV) and
seeded mutations of them. Holds no tests itself; seeded `random`, so a failure names the case that reproduces it."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .test_fmp4_support import Demuxed, demux, encode

_X264 = ["-c:v", "libx264", "-g", "5", "-threads", "1"]
_X265 = ["-c:v", "libx265", "-x265-params", "keyint=5:min-keyint=5:bframes=2:open-gop=0:pools=none:log-level=error"]
_AAC = ["-c:a", "aac"]


@dataclass(frozen=True)
class RealStream:
    """One encoded file's packets: `name` says codec and container (MP4 is length-prefixed, TS Annex-B)."""

    name: str
    codec: str  # "h264" or "hevc"
    demuxed: Demuxed

    @property
    def extradata(self) -> bytes | None:
        return self.demuxed.video.extradata

    @property
    def video_packets(self) -> list[bytes]:
        return [packet.data for packet in self.demuxed.video.packets]

    @property
    def audio_packets(self) -> list[bytes]:
        return [packet.data for packet in self.demuxed.audio.packets] if self.demuxed.audio else []


def real_streams(directory: Path) -> list[RealStream]:
    """H.264 and HEVC, each in MP4 (avcC/hvcC, length prefixes) and MPEG-TS (Annex-B, ADTS audio)."""
    streams = []
    for codec, video in (("h264", _X264), ("hevc", _X265)):
        for suffix in ("mp4", "ts"):
            path = encode(directory / f"{codec}.{suffix}", video, _AAC, size="176x100", frames=10)
            streams.append(RealStream(f"{codec}-{suffix}", codec, demux(path)))
    return streams


def mutate(rng: random.Random, data: bytes) -> bytes:
    """`data` with one to a few kinds of damage: flipped bits, overwritten, inserted or deleted bytes, truncation."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        position = rng.randrange(len(buffer) + 1)
        if kind == 0 and buffer:
            index = min(position, len(buffer) - 1)
            buffer[index] ^= 1 << rng.randrange(8)
        elif kind == 1 and buffer:
            index = min(position, len(buffer) - 1)
            buffer[index] = rng.choice((0x00, 0x01, 0x03, 0xFF, rng.randrange(256)))
        elif kind == 2:
            buffer[position:position] = rng.randbytes(rng.randint(1, 8))
        elif kind == 3:
            del buffer[position : position + rng.randint(1, 16)]
        elif kind == 4:
            del buffer[position:]
        else:
            buffer[position:position] = rng.choice((b"\x00\x00\x01", b"\x00\x00\x00\x01", b"\xff\xff\xff\xff"))
    return bytes(buffer)


def random_bytes(rng: random.Random) -> bytes:
    """Random data, often short, sometimes shaped like NAL framing so the parsers get past their first check."""
    size = rng.choice((0, 1, 2, 3, 4, 5, 7, 9, 16, rng.randrange(300)))
    body = rng.randbytes(size)
    prefix = rng.choice((b"", b"\x00\x00\x01", b"\x00\x00\x00\x01", b"\x01", b"\xff\xf1"))
    return prefix + body


def cases(seed: int, count: int, samples: list[bytes]) -> Iterator[tuple[int, bytes]]:
    """`count` inputs: random bytes and mutations of `samples` (half each when there are samples)."""
    rng = random.Random(seed)
    for index in range(count):
        if samples and index % 2:
            yield index, mutate(rng, rng.choice(samples))
        else:
            yield index, random_bytes(rng)


def only_value_errors(function: Callable[[bytes], object], seed: int, count: int, samples: list[bytes]) -> int:
    """Run `function` on every case; any exception but ValueError fails with the case. Returns how many raised."""
    raised = 0
    for index, data in cases(seed, count, samples):
        try:
            function(data)
        except ValueError:
            raised += 1
        except Exception as err:
            raise AssertionError(f"case {index} (seed {seed}) {data.hex()}: {type(err).__name__}: {err}") from err
    return raised
