"""HEVC parameter sets: SPS fields (profile_tier_level, size, chroma) and the hvcC decoder configuration record."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from .bits import BitReader
from .nal import unescape_rbsp

NAL_IRAP_FIRST = 16
NAL_IRAP_LAST = 23
NAL_VPS = 32
NAL_SPS = 33
NAL_PPS = 34
NAL_AUD = 35
MAX_BIT_DEPTH = 15  # the 3 bits hvcC has for bit_depth - 8 (the standard allows 16 at most)

_SUB_SIZES = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}  # ChromaArrayType -> (SubWidthC, SubHeightC)


def nal_type(unit: bytes) -> int:
    return (unit[0] >> 1) & 0x3F


@dataclass(frozen=True, slots=True)
class HevcSps:
    # general_profile_space .. general_level_idc: 12 byte-aligned bytes, copied verbatim into hvcC.
    profile_tier_level: bytes
    max_sub_layers: int
    temporal_id_nesting: bool
    chroma_format_idc: int
    bit_depth_luma: int
    bit_depth_chroma: int
    width: int
    height: int

    @property
    def profile_space(self) -> int:
        return self.profile_tier_level[0] >> 6

    @property
    def tier_flag(self) -> int:
        return (self.profile_tier_level[0] >> 5) & 1

    @property
    def profile_idc(self) -> int:
        return self.profile_tier_level[0] & 0x1F

    @property
    def compatibility_flags(self) -> int:
        return int.from_bytes(self.profile_tier_level[1:5])

    @property
    def constraint_bytes(self) -> bytes:
        return self.profile_tier_level[5:11]

    @property
    def level_idc(self) -> int:
        return self.profile_tier_level[11]


def parse_sps(sps: bytes) -> HevcSps:
    """Decode the fields of an SPS NAL unit (2-byte header included) up to the bit depths."""
    if len(sps) < 15 or nal_type(sps) != NAL_SPS:
        raise ValueError("Not an HEVC SPS NAL unit")
    rbsp = unescape_rbsp(sps[2:])
    reader = BitReader(rbsp)
    reader.skip(4)  # sps_video_parameter_set_id
    max_sub_layers = reader.u(3) + 1
    temporal_id_nesting = reader.flag()
    profile_tier_level = rbsp[1:13]
    reader.skip(96)
    sub_layer_flags = [(reader.flag(), reader.flag()) for _ in range(max_sub_layers - 1)]
    if max_sub_layers > 1:
        reader.skip(2 * (9 - max_sub_layers))  # reserved_zero_2bits up to 8 entries
    for profile_present, level_present in sub_layer_flags:
        reader.skip((88 if profile_present else 0) + (8 if level_present else 0))
    reader.ue()  # sps_seq_parameter_set_id
    chroma_format_idc = reader.ue()
    if chroma_format_idc > 3:
        raise ValueError(f"Invalid chroma_format_idc {chroma_format_idc} in HEVC SPS")
    separate_planes = reader.flag() if chroma_format_idc == 3 else False
    width, height = reader.ue(), reader.ue()
    if reader.flag():  # conformance_window_flag
        left, right, top, bottom = reader.ue(), reader.ue(), reader.ue(), reader.ue()
        sub_width, sub_height = _SUB_SIZES[0 if separate_planes else chroma_format_idc]
        width -= sub_width * (left + right)
        height -= sub_height * (top + bottom)
    depth_luma, depth_chroma = reader.ue() + 8, reader.ue() + 8
    if width <= 0 or height <= 0 or max(depth_luma, depth_chroma) > MAX_BIT_DEPTH:
        raise ValueError(f"Invalid picture {width}x{height} with {depth_luma}/{depth_chroma} bits in HEVC SPS")
    return HevcSps(
        profile_tier_level,
        max_sub_layers,
        temporal_id_nesting,
        chroma_format_idc,
        depth_luma,
        depth_chroma,
        width,
        height,
    )


def parse_hvcc(record: bytes) -> tuple[list[bytes], int]:
    """(NAL units of every array, NAL length size) of an HEVCDecoderConfigurationRecord."""
    units: list[bytes] = []
    try:
        length_size = (record[21] & 3) + 1
        position = 23
        for _ in range(record[22]):
            (count,) = struct.unpack_from(">H", record, position + 1)
            position += 3
            for _ in range(count):
                (length,) = struct.unpack_from(">H", record, position)
                position += 2
                units.append(record[position : position + length])
                if len(units[-1]) != length:
                    raise ValueError("Truncated hvcC")
                position += length
    except (IndexError, struct.error) as err:
        raise ValueError("Truncated hvcC") from err
    return units, length_size


def build_hvcc(vps_list: Sequence[bytes], sps_list: Sequence[bytes], pps_list: Sequence[bytes]) -> bytes:
    """An HEVCDecoderConfigurationRecord with 4-byte NAL lengths and complete parameter set arrays."""
    info = parse_sps(sps_list[0])
    parts = [
        b"\x01",
        info.profile_tier_level,
        struct.pack(
            ">HBBBBHBB",
            0xF000,  # reserved + min_spatial_segmentation_idc 0 (unknown)
            0xFC,  # reserved + parallelismType 0 (unknown)
            0xFC | info.chroma_format_idc,
            0xF8 | (info.bit_depth_luma - 8),
            0xF8 | (info.bit_depth_chroma - 8),
            0,  # avgFrameRate unknown
            # constantFrameRate 0, numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3
            (info.max_sub_layers << 3) | (int(info.temporal_id_nesting) << 2) | 3,
            3,  # numOfArrays
        ),
    ]
    for kind, units in ((NAL_VPS, vps_list), (NAL_SPS, sps_list), (NAL_PPS, pps_list)):
        parts.append(struct.pack(">BH", 0x80 | kind, len(units)))  # array_completeness = 1
        for unit in units:
            parts += (struct.pack(">H", len(unit)), unit)
    return b"".join(parts)
