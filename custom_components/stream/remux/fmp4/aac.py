"""MPEG audio configuration: ADTS headers, the AAC AudioSpecificConfig and the `esds` box."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .bits import BitReader
from .boxes import full_box

SAMPLE_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
OBJECT_TYPE_AAC = 0x40  # objectTypeIndication: MPEG-4 audio
OBJECT_TYPE_MP3 = 0x6B  # MPEG-1 audio (layer 3 at 32/44.1/48 kHz)
OBJECT_TYPE_MPEG2_AUDIO = 0x69  # MPEG-2 audio: layer 3 at the lower sample rates
_AUDIO_STREAM = 0x15  # streamType 5 (audio) << 2 | upStream 0 | reserved 1


@dataclass(frozen=True, slots=True)
class AdtsHeader:
    object_type: int  # MPEG-4 audioObjectType (ADTS profile + 1)
    sample_rate_index: int
    channel_config: int
    header_size: int  # 7, or 9 with a CRC
    frame_length: int  # header included

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATES[self.sample_rate_index] if self.sample_rate_index < len(SAMPLE_RATES) else 0

    def audio_specific_config(self) -> bytes:
        return audio_specific_config(self.object_type, self.sample_rate_index, self.channel_config)


def is_adts(data: bytes) -> bool:
    """True when `data` starts with an ADTS header: syncword 0xFFF and layer 0."""
    return len(data) >= 7 and data[0] == 0xFF and (data[1] & 0xF6) == 0xF0


def parse_adts(data: bytes) -> AdtsHeader:
    if not is_adts(data):
        raise ValueError("Not an ADTS frame")
    header_size = 7 if data[1] & 1 else 9  # protection_absent
    return AdtsHeader(
        object_type=(data[2] >> 6) + 1,
        sample_rate_index=(data[2] >> 2) & 0xF,
        channel_config=((data[2] & 1) << 2) | (data[3] >> 6),
        header_size=header_size,
        frame_length=((data[3] & 3) << 11) | (data[4] << 3) | (data[5] >> 5),
    )


def strip_adts(data: bytes) -> bytes:
    """The raw AAC frame inside an ADTS frame (one frame per packet, as FFmpeg's demuxers deliver them);
    other data is returned unchanged."""
    if not is_adts(data):
        return data
    header_size = 7 if data[1] & 1 else 9
    frame_length = ((data[3] & 3) << 11) | (data[4] << 3) | (data[5] >> 5)
    return data[header_size:frame_length] if header_size < frame_length <= len(data) else data[header_size:]


def audio_specific_config(object_type: int, sample_rate_index: int, channel_config: int) -> bytes:
    """The 2-byte AudioSpecificConfig for an object type below 31 and a table sample rate."""
    return struct.pack(">H", (object_type << 11) | (sample_rate_index << 7) | (channel_config << 3))


def parse_audio_specific_config(config: bytes) -> tuple[int, int, int]:
    """(audioObjectType, sample rate, channel configuration) of an AudioSpecificConfig."""
    if len(config) < 2:
        raise ValueError("AudioSpecificConfig is shorter than 2 bytes")
    bits = BitReader(config[:6].ljust(6, b"\x00"))  # 48 bits cover every field read here (43 at most)
    object_type = bits.u(5)
    if object_type == 31:
        object_type = 32 + bits.u(6)
    index = bits.u(4)
    sample_rate = bits.u(24) if index == 15 else (SAMPLE_RATES[index] if index < len(SAMPLE_RATES) else 0)
    return object_type, sample_rate, bits.u(4)


def _descriptor(tag: int, *payload: bytes) -> bytes:
    # The 4-byte form of the expandable size, as most muxers write it.
    size = sum(map(len, payload))
    header = bytes((tag, 0x80 | (size >> 21) & 0x7F, 0x80 | (size >> 14) & 0x7F, 0x80 | (size >> 7) & 0x7F))
    header += bytes((size & 0x7F,))
    return b"".join((header, *payload))


def esds(object_type_indication: int, decoder_specific_info: bytes, es_id: int = 0) -> bytes:
    """The `esds` box: an ES_Descriptor with the decoder config (and, for AAC, the AudioSpecificConfig)."""
    decoder_config = _descriptor(
        0x04,
        # bufferSizeDB (24 bits), maxBitrate and avgBitrate (32 bits each) are unknown for a live source: zero.
        bytes((object_type_indication, _AUDIO_STREAM)) + bytes(11),
        _descriptor(0x05, decoder_specific_info) if decoder_specific_info else b"",
    )
    es = _descriptor(0x03, struct.pack(">HB", es_id, 0), decoder_config, _descriptor(0x06, b"\x02"))
    return full_box(b"esds", 0, 0, es)
