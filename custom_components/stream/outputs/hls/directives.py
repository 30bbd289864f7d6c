"""LL-HLS delivery directives (`_HLS_msn`, `_HLS_part`, `_HLS_skip`): parsing, the 400 rules, and when a
blocked playlist request may be answered (RFC 8216bis section 6.2.5)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ...remux.media import Segment

MSN = "_HLS_msn"
PART = "_HLS_part"
SKIP = "_HLS_skip"
SKIP_VALUES = frozenset({"YES", "v2"})  # v2 also skips date ranges; we emit none, so both mean the same

# Plain ASCII digits only (no sign, space or Unicode digits); 18 digits keep int() cheap and far beyond any real msn.
_NUMBER = re.compile(r"[0-9]{1,18}")


class DirectiveError(ValueError):
    """The request breaks a directive rule: answer 400."""


@dataclass(frozen=True, slots=True)
class DeliveryDirectives:
    msn: int | None = None
    part: int | None = None
    skip: bool = False

    @property
    def blocking(self) -> bool:
        return self.msn is not None


def parse_directives(query: Mapping[str, str]) -> DeliveryDirectives:
    """The directives of a playlist request's query string; DirectiveError if malformed."""
    msn = _number(query, MSN)
    part = _number(query, PART)
    if part is not None and msn is None:
        raise DirectiveError(f"{PART} without {MSN}")
    skip = query.get(SKIP)
    if skip is not None and skip not in SKIP_VALUES:
        raise DirectiveError(f"{SKIP} must be YES or v2")
    return DeliveryDirectives(msn, part, skip is not None)


def check_directives(directives: DeliveryDirectives, segments: Sequence[Segment], advance_part_limit: int) -> None:
    """DirectiveError if the request asks too far ahead of what `segments` (the buffer, oldest first) hold."""
    msn, part = directives.msn, directives.part
    if msn is None:
        return
    last = segments[-1] if segments else None
    last_sequence = last.sequence if last is not None else -1
    if msn > last_sequence + 2:
        raise DirectiveError(f"{MSN}={msn} is more than two segments past {last_sequence}")
    if part is None or msn < last_sequence:
        return
    if last is None or msn > last_sequence:
        ahead = part + 1  # a segment not started yet: at least this many parts away
    elif last.complete and part >= len(last.parts):
        ahead = 1  # past the end of a complete segment: part 0 of the next one
    else:
        ahead = part - (len(last.parts) - 1)
    if ahead > advance_part_limit:
        raise DirectiveError(f"{PART}={part} is {ahead} parts ahead (limit {advance_part_limit})")


def directives_reached(directives: DeliveryDirectives, segments: Sequence[Segment]) -> bool:
    """True once a playlist of `segments` satisfies the directives, or they ask for something already gone."""
    msn, part = directives.msn, directives.part
    if msn is None:
        return bool(segments)
    if not segments:
        return False
    if msn < segments[0].sequence:
        return True  # older than anything held: answer with what there is now
    last = segments[-1]
    if part is None:
        newest_complete = last.sequence if last.complete else last.sequence - 1
        return newest_complete >= msn
    if last.sequence > msn:
        # A later segment exists: it follows part `part` of `msn`, or is what a part index past the end means.
        return True
    return last.sequence == msn and len(last.parts) > part


def _number(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if not _NUMBER.fullmatch(value):
        raise DirectiveError(f"{name} must be a non-negative integer")
    return int(value)
