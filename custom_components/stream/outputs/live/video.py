"""Demuxed video packets as WebRTC wants them: Annex-B, with the parameter sets in front of every keyframe."""

from __future__ import annotations

import contextlib

from ...remux.fmp4.nal import join_annexb, split_annexb, split_length_prefixed
from ...remux.fmp4.parameter_sets import (
    ParameterSets,
    VideoCodec,
    collect_parameter_sets,
    find_parameter_sets,
    packet_nal_length_size,
    units_with_parameter_sets,
)


class AnnexBConverter:
    """Per worker run: remembers the latest complete parameter sets (extradata, then in band) for keyframes that
    arrive without them, as cameras that announce them only in the SDP do."""

    def __init__(self, codec: VideoCodec, extradata: bytes | None) -> None:
        self._codec = codec
        self._length_size = packet_nal_length_size(codec, extradata)
        self._parameter_sets: ParameterSets | None = None
        if extradata:
            with contextlib.suppress(ValueError):
                self._parameter_sets = find_parameter_sets(codec, extradata, None)

    @property
    def parameter_sets(self) -> ParameterSets | None:
        return self._parameter_sets

    def convert(self, data: bytes, keyframe: bool) -> bytes | None:
        """The access unit in Annex-B; None for a keyframe no decoder could start from (no parameter sets yet)."""
        annexb = self._length_size == 0
        if not keyframe:
            return data if annexb else join_annexb(split_length_prefixed(data, self._length_size))
        units = split_annexb(data) if annexb else split_length_prefixed(data, self._length_size)
        in_band = collect_parameter_sets(self._codec, units)
        if in_band.complete(self._codec):
            self._parameter_sets = in_band
            return data if annexb else join_annexb(units)
        if self._parameter_sets is None:
            return None
        return join_annexb(units_with_parameter_sets(self._codec, self._parameter_sets, units))
