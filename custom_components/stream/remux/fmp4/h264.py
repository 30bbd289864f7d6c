"""H.264 parameter sets: SPS fields (size, profile, chroma) and the avcC decoder configuration record."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from .bits import BitReader
from .nal import unescape_rbsp

NAL_IDR = 5
NAL_SPS = 7
NAL_PPS = 8
NAL_AUD = 9
MAX_BIT_DEPTH = 14  # bit_depth_minus8 is 0-6 (and avcC keeps 3 bits of it)

# Profiles whose SPS carries chroma format and bit depth (and whose avcC gets the extension fields).
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})
_BASIC_PROFILES = frozenset({66, 77, 88})  # baseline, main, extended: avcC without the extension
_SUB_SIZES = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}  # ChromaArrayType -> (SubWidthC, SubHeightC)


def nal_type(unit: bytes) -> int:
    return unit[0] & 0x1F


@dataclass(frozen=True, slots=True)
class H264Sps:
    profile_idc: int
    constraint_flags: int
    level_idc: int
    chroma_format_idc: int
    bit_depth_luma: int
    bit_depth_chroma: int
    width: int
    height: int


def _skip_scaling_list(reader: BitReader, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale:
            next_scale = (last + reader.se() + 256) % 256
        last = next_scale or last


def parse_sps(sps: bytes) -> H264Sps:
    """Decode the fields of an SPS NAL unit (header byte included) up to the cropping window."""
    if len(sps) < 4 or nal_type(sps) != NAL_SPS:
        raise ValueError("Not an H.264 SPS NAL unit")
    reader = BitReader(unescape_rbsp(sps[1:]))
    profile_idc, constraint_flags, level_idc = reader.u(8), reader.u(8), reader.u(8)
    reader.ue()  # seq_parameter_set_id
    chroma_format_idc, separate_planes, depth_luma, depth_chroma = 1, False, 8, 8
    if profile_idc in _HIGH_PROFILES:
        chroma_format_idc = reader.ue()
        if chroma_format_idc > 3:
            raise ValueError(f"Invalid chroma_format_idc {chroma_format_idc} in H.264 SPS")
        if chroma_format_idc == 3:
            separate_planes = reader.flag()
        depth_luma = reader.ue() + 8
        depth_chroma = reader.ue() + 8
        reader.skip(1)  # qpprime_y_zero_transform_bypass_flag
        if reader.flag():  # seq_scaling_matrix_present_flag
            for index in range(12 if chroma_format_idc == 3 else 8):
                if reader.flag():
                    _skip_scaling_list(reader, 16 if index < 6 else 64)
    reader.ue()  # log2_max_frame_num_minus4
    poc_type = reader.ue()
    if poc_type == 0:
        reader.ue()  # log2_max_pic_order_cnt_lsb_minus4
    elif poc_type == 1:
        reader.skip(1)  # delta_pic_order_always_zero_flag
        reader.se()  # offset_for_non_ref_pic
        reader.se()  # offset_for_top_to_bottom_field
        for _ in range(reader.ue()):
            reader.se()  # offset_for_ref_frame
    reader.ue()  # max_num_ref_frames
    reader.skip(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs = reader.ue() + 1
    height_map_units = reader.ue() + 1
    frame_mbs_only = reader.u(1)
    if not frame_mbs_only:
        reader.skip(1)  # mb_adaptive_frame_field_flag
    reader.skip(1)  # direct_8x8_inference_flag
    crop_left = crop_right = crop_top = crop_bottom = 0
    if reader.flag():
        crop_left, crop_right, crop_top, crop_bottom = reader.ue(), reader.ue(), reader.ue(), reader.ue()
    sub_width, sub_height = _SUB_SIZES[0 if separate_planes else chroma_format_idc]
    width = width_mbs * 16 - sub_width * (crop_left + crop_right)
    height = (2 - frame_mbs_only) * (height_map_units * 16 - sub_height * (crop_top + crop_bottom))
    if width <= 0 or height <= 0 or max(depth_luma, depth_chroma) > MAX_BIT_DEPTH:
        raise ValueError(f"Invalid picture {width}x{height} with {depth_luma}/{depth_chroma} bits in H.264 SPS")
    return H264Sps(profile_idc, constraint_flags, level_idc, chroma_format_idc, depth_luma, depth_chroma, width, height)


def parse_avcc(record: bytes) -> tuple[list[bytes], list[bytes], int]:
    """(SPS list, PPS list, NAL length size) of an AVCDecoderConfigurationRecord."""
    try:
        if record[0] != 1:
            raise ValueError(f"Unsupported avcC version {record[0]}")
        length_size = (record[4] & 3) + 1
        position = 5
        lists: list[list[bytes]] = []
        for mask in (0x1F, 0xFF):
            count = record[position] & mask
            position += 1
            units = []
            for _ in range(count):
                (length,) = struct.unpack_from(">H", record, position)
                position += 2
                units.append(record[position : position + length])
                if len(units[-1]) != length:
                    raise ValueError("Truncated avcC")
                position += length
            lists.append(units)
    except (IndexError, struct.error) as err:
        raise ValueError("Truncated avcC") from err
    return lists[0], lists[1], length_size


def build_avcc(sps_list: Sequence[bytes], pps_list: Sequence[bytes]) -> bytes:
    """An AVCDecoderConfigurationRecord with 4-byte NAL lengths."""
    info = parse_sps(sps_list[0])
    parts = [bytes((1, info.profile_idc, info.constraint_flags, info.level_idc, 0xFF, 0xE0 | len(sps_list)))]
    for sps in sps_list:
        parts += (struct.pack(">H", len(sps)), sps)
    parts.append(bytes((len(pps_list),)))
    for pps in pps_list:
        parts += (struct.pack(">H", len(pps)), pps)
    if info.profile_idc not in _BASIC_PROFILES:
        # chroma_format, bit depths and numOfSequenceParameterSetExt (0), behind reserved bits set to one.
        depths = (0xF8 | (info.bit_depth_luma - 8), 0xF8 | (info.bit_depth_chroma - 8))
        parts.append(bytes((0xFC | info.chroma_format_idc, *depths, 0)))
    return b"".join(parts)
