"""H.265 access units as RTP payloads (RFC 7798), for the direct video sender; aiortc has no H.265 packetizer.

Each NAL unit goes out as one of the three payload structures the RFC defines (no DONL fields: the answer's
`sprop-max-don-diff` is left at 0, so NAL units go out in decoding order):
- a single NAL unit packet, the unit as it is, when it fits in `MAX_PAYLOAD`;
- fragmentation units (type 49) for a unit over that size: the unit's 2-byte header becomes the payload header
  (type replaced), a 1-byte FU header carries start/end bits and the unit's type;
- aggregation packets (type 48) for runs of small units (the VPS, SPS and PPS before an IRAP picture), each unit
  behind its 16-bit size, under a payload header whose F bit is any unit's and whose layer id and temporal id are
  the lowest of the units'.
An IRAP picture that arrives without its parameter sets gets the last ones seen in front (RFC 7798 leaves it to the
sender to make them reach the receiver; in band before every IRAP is what browsers expect).
"""

from __future__ import annotations

from collections.abc import Sequence

from ...remux.fmp4.hevc import NAL_AUD, NAL_IRAP_FIRST, NAL_IRAP_LAST, NAL_PPS, NAL_SPS, NAL_VPS
from ...remux.fmp4.nal import split_annexb

# The largest RTP payload we send, as aiortc's H.264 packetizer: under a 1500-byte path MTU with IP, UDP, SRTP and
# the RTP header with its extension.
MAX_PAYLOAD = 1300
AP_TYPE = 48
FU_TYPE = 49
_SIZE_FIELD = 2  # an aggregation unit's NALU size field
_FU_HEADER_SIZE = 3  # payload header + FU header
_PARAMETER_SET_TYPES = frozenset((NAL_VPS, NAL_SPS, NAL_PPS))


def _nal_type(unit: bytes) -> int:
    return (unit[0] >> 1) & 0x3F


def _fragment(unit: bytes) -> list[bytes]:
    """A unit over MAX_PAYLOAD as fragmentation units."""
    kind = _nal_type(unit)
    payload_header = bytes(((unit[0] & 0x81) | (FU_TYPE << 1), unit[1]))
    body = memoryview(unit)[2:]
    step = MAX_PAYLOAD - _FU_HEADER_SIZE
    last = len(body) - 1
    fragments = []
    for start in range(0, len(body), step):
        start_bit = 0x80 if start == 0 else 0
        end_bit = 0x40 if start + step > last else 0
        fragments.append(b"".join((payload_header, bytes((start_bit | end_bit | kind,)), body[start : start + step])))
    return fragments


def _aggregate(units: Sequence[bytes]) -> bytes:
    """Two or more units that fit MAX_PAYLOAD together as one aggregation packet."""
    forbidden = 0
    layer_id = 0x3F
    temporal_id = 7
    for unit in units:
        forbidden |= unit[0] & 0x80
        layer_id = min(layer_id, ((unit[0] & 1) << 5) | (unit[1] >> 3))
        temporal_id = min(temporal_id, unit[1] & 7)
    header = bytes((forbidden | (AP_TYPE << 1) | (layer_id >> 5), ((layer_id & 0x1F) << 3) | temporal_id))
    parts = [header]
    for unit in units:
        parts.append(len(unit).to_bytes(2))
        parts.append(unit)
    return b"".join(parts)


def packetize_units(units: Sequence[bytes]) -> list[bytes]:
    """The RTP payloads of one access unit's NAL units, in order."""
    payloads: list[bytes] = []
    run: list[bytes] = []  # consecutive small units waiting to be aggregated
    run_size = _SIZE_FIELD  # the payload header
    for unit in units:
        if len(unit) < 2:
            continue  # not a NAL unit (no room for its header)
        if run and run_size + _SIZE_FIELD + len(unit) > MAX_PAYLOAD:
            payloads.append(_aggregate(run) if len(run) > 1 else run[0])
            run, run_size = [], _SIZE_FIELD
        if len(unit) > MAX_PAYLOAD:
            payloads += _fragment(unit)
        elif _SIZE_FIELD + _SIZE_FIELD + len(unit) <= MAX_PAYLOAD:
            run.append(unit)
            run_size += _SIZE_FIELD + len(unit)
        else:
            payloads.append(unit)  # fits alone, but not behind a size field
    if run:
        payloads.append(_aggregate(run) if len(run) > 1 else run[0])
    return payloads


class H265Packetizer:
    """Per session: remembers the latest parameter sets for IRAP pictures that come without them."""

    def __init__(self, parameter_sets: Sequence[bytes] = ()) -> None:
        self._parameter_sets = list(parameter_sets)

    def packetize(self, access_unit: bytes) -> list[bytes]:
        """The RTP payloads of one Annex-B access unit."""
        units = split_annexb(access_unit)
        types = [_nal_type(unit) for unit in units if unit]
        if any(NAL_IRAP_FIRST <= kind <= NAL_IRAP_LAST for kind in types):
            in_band = [unit for unit in units if _nal_type(unit) in _PARAMETER_SET_TYPES]
            if {_nal_type(unit) for unit in in_band} >= _PARAMETER_SET_TYPES:
                self._parameter_sets = in_band
            elif self._parameter_sets:
                units = self._with_parameter_sets([unit for unit in units if unit not in in_band])
        return packetize_units(units)

    def _with_parameter_sets(self, units: list[bytes]) -> list[bytes]:
        # An access unit delimiter stays the first unit of its access unit.
        lead = 1 if units and _nal_type(units[0]) == NAL_AUD else 0
        return [*units[:lead], *self._parameter_sets, *units[lead:]]
