"""Finding a video stream's parameter sets, in its extradata or in band, and putting them back in front of a frame."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from . import h264, hevc
from .nal import is_annexb, join_annexb, split_annexb, split_length_prefixed, split_nal_units

VideoCodec = Literal["h264", "hevc"]


@dataclass(frozen=True, slots=True)
class ParameterSets:
    """The raw NAL units (headers included); `vps` is empty for H.264."""

    vps: tuple[bytes, ...]
    sps: tuple[bytes, ...]
    pps: tuple[bytes, ...]

    def complete(self, codec: VideoCodec) -> bool:
        return bool(self.sps and self.pps and (self.vps or codec == "h264"))

    def units(self) -> tuple[bytes, ...]:
        """All of them in decoding order: VPS, SPS, PPS."""
        return self.vps + self.sps + self.pps


def _types(codec: VideoCodec) -> tuple[int, int, int, int, int]:
    """(VPS, SPS, PPS, AUD, NAL header size) NAL unit types of `codec`; H.264 has no VPS (-1)."""
    if codec == "h264":
        return -1, h264.NAL_SPS, h264.NAL_PPS, h264.NAL_AUD, 1
    return hevc.NAL_VPS, hevc.NAL_SPS, hevc.NAL_PPS, hevc.NAL_AUD, 2


def _nal_type(codec: VideoCodec, unit: bytes) -> int:
    return h264.nal_type(unit) if codec == "h264" else hevc.nal_type(unit)


def collect_parameter_sets(codec: VideoCodec, units: Iterable[bytes]) -> ParameterSets:
    """The VPS/SPS/PPS among `units` (NAL units without start codes or lengths), each kept once."""
    vps_type, sps_type, pps_type, _, header_size = _types(codec)
    found: dict[int, list[bytes]] = {vps_type: [], sps_type: [], pps_type: []}
    for unit in units:
        if len(unit) > header_size:
            kind = found.get(_nal_type(codec, unit))
            if kind is not None and unit not in kind:
                kind.append(unit)
    return ParameterSets(tuple(found[vps_type]), tuple(found[sps_type]), tuple(found[pps_type]))


def packet_nal_length_size(codec: VideoCodec, extradata: bytes | None) -> int:
    """How the packets of a stream with this extradata frame their NAL units: 0 for start codes, else the
    length-prefix size from the avcC/hvcC record (the demuxer hands out packets in the extradata's framing)."""
    if not extradata or is_annexb(extradata):
        return 0
    try:
        if codec == "h264":
            return h264.parse_avcc(extradata)[2]
        return hevc.parse_hvcc(extradata)[1]
    except ValueError:
        return 0


def _extradata_units(codec: VideoCodec, extradata: bytes) -> list[bytes]:
    if is_annexb(extradata):
        return split_annexb(extradata)
    if codec == "h264":
        sps, pps, _ = h264.parse_avcc(extradata)
        return sps + pps
    return hevc.parse_hvcc(extradata)[0]


def find_parameter_sets(codec: VideoCodec, extradata: bytes | None, first_keyframe: bytes | None) -> ParameterSets:
    """The parameter sets from the extradata (Annex-B or avcC/hvcC) or, when it lacks them (common with RTSP),
    from the NAL units of the first keyframe. Raises ValueError when neither has a complete set."""
    units: list[bytes] = []
    if extradata:
        with contextlib.suppress(ValueError):  # unreadable extradata: the keyframe may still carry them
            units += _extradata_units(codec, extradata)
    found = collect_parameter_sets(codec, units)
    if not found.complete(codec) and first_keyframe:
        with contextlib.suppress(ValueError):
            units += split_nal_units(first_keyframe, packet_nal_length_size(codec, extradata) or 4)
        found = collect_parameter_sets(codec, units)
    if not found.complete(codec):
        needed = "SPS and PPS" if codec == "h264" else "VPS, SPS and PPS"
        raise ValueError(
            f"No {codec.upper()} parameter sets: the {needed} are neither in the codec extradata nor in the first "
            "keyframe"
        )
    return found


def units_with_parameter_sets(codec: VideoCodec, parameter_sets: ParameterSets, units: list[bytes]) -> list[bytes]:
    """The NAL units of an access unit with the parameter sets in front unless it already carries an SPS
    (decoders such as WebRTC peers need them before every IDR)."""
    _, sps_type, _, aud_type, _ = _types(codec)
    if any(_nal_type(codec, unit) == sps_type for unit in units):
        return units
    # An access unit delimiter must stay the first NAL unit of the access unit.
    lead = 1 if units and _nal_type(codec, units[0]) == aud_type else 0
    return [*units[:lead], *parameter_sets.units(), *units[lead:]]


def annexb_with_parameter_sets(codec: VideoCodec, parameter_sets: ParameterSets, sample_data: bytes) -> bytes:
    """An Annex-B access unit from a 4-byte length-prefixed sample, with the parameter sets in front."""
    return join_annexb(units_with_parameter_sets(codec, parameter_sets, split_length_prefixed(sample_data)))
