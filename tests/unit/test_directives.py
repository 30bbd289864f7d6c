"""Delivery directives: parsing, the 400 rules of RFC 8216bis 6.2.5.2, and when a blocked request is satisfied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custom_components.stream.outputs.hls.directives import (
    DeliveryDirectives,
    DirectiveError,
    check_directives,
    directives_reached,
    parse_directives,
)
from custom_components.stream.remux.media import Part, Segment, SegmentHeader

LIMIT = 6  # hls_advance_part_limit for half-second parts


def segment(sequence: int, parts: int, *, complete: bool) -> Segment:
    header = SegmentHeader(sequence, 0, b"init", "avc1.64001f", datetime(2026, 1, 1, tzinfo=UTC))
    return Segment(header, [Part(0.5, i == 0, b"p") for i in range(parts)], complete)


# Segments 10 and 11 complete (4 parts each), 12 being written with 3 parts (0, 1, 2; the hint is 12.3).
HELD = [segment(10, 4, complete=True), segment(11, 4, complete=True), segment(12, 3, complete=False)]
# The same, once segment 12 completed with those 3 parts (the hint is 13.0).
HELD_COMPLETE = [*HELD[:2], segment(12, 3, complete=True)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, DeliveryDirectives()),
        ({"_HLS_msn": "12"}, DeliveryDirectives(12)),
        ({"_HLS_msn": "12", "_HLS_part": "0"}, DeliveryDirectives(12, 0)),
        ({"_HLS_msn": "0", "_HLS_part": "3", "_HLS_skip": "YES"}, DeliveryDirectives(0, 3, skip=True)),
        ({"_HLS_skip": "v2"}, DeliveryDirectives(skip=True)),
        ({"unrelated": "x", "_HLS_msn": "007"}, DeliveryDirectives(7)),
    ],
)
def test_parse(query: dict[str, str], expected: DeliveryDirectives) -> None:
    directives = parse_directives(query)
    assert directives == expected
    assert directives.blocking == (expected.msn is not None)


@pytest.mark.parametrize(
    "query",
    [
        {"_HLS_part": "1"},  # part without msn
        {"_HLS_msn": "-1"},
        {"_HLS_msn": "+1"},
        {"_HLS_msn": "1.0"},
        {"_HLS_msn": "abc"},
        {"_HLS_msn": ""},
        {"_HLS_msn": " 1"},
        {"_HLS_msn": "\u0663"},  # ARABIC-INDIC DIGIT THREE: int() would take it
        {"_HLS_msn": "1" * 19},  # absurdly long
        {"_HLS_msn": "1", "_HLS_part": "x"},
        {"_HLS_msn": "1", "_HLS_part": "-2"},
        {"_HLS_skip": "NO"},
        {"_HLS_skip": "yes"},
    ],
)
def test_parse_rejects(query: dict[str, str]) -> None:
    with pytest.raises(DirectiveError):
        parse_directives(query)


@pytest.mark.parametrize(
    ("held", "directives"),
    [
        (HELD, DeliveryDirectives(12)),
        (HELD, DeliveryDirectives(14)),  # last + 2 is the furthest allowed
        (HELD, DeliveryDirectives(3)),  # long gone: answered at once, not refused
        (HELD, DeliveryDirectives(11, 9)),  # behind the newest segment: never refused
        (HELD, DeliveryDirectives(12, 2 + LIMIT)),  # exactly the limit past the last part
        (HELD, DeliveryDirectives(13, LIMIT - 1)),
        (HELD_COMPLETE, DeliveryDirectives(12, 3)),  # past the end of a complete segment: the next part
        (HELD_COMPLETE, DeliveryDirectives(12, 50)),
        ([], DeliveryDirectives(1)),
        ([], DeliveryDirectives(0, 0)),
        (HELD, DeliveryDirectives()),
    ],
)
def test_check_accepts(held: list[Segment], directives: DeliveryDirectives) -> None:
    check_directives(directives, held, LIMIT)


@pytest.mark.parametrize(
    ("held", "directives"),
    [
        (HELD, DeliveryDirectives(15)),  # more than two segments past the last
        (HELD, DeliveryDirectives(15, 0)),
        ([], DeliveryDirectives(2)),
        (HELD, DeliveryDirectives(12, 3 + LIMIT)),  # more than the Advance Part Limit past the last part (12.2)
        (HELD, DeliveryDirectives(13, LIMIT)),  # a segment not yet started: at least LIMIT + 1 parts away
        (HELD_COMPLETE, DeliveryDirectives(13, LIMIT)),
        ([], DeliveryDirectives(0, LIMIT)),
    ],
)
def test_check_rejects(held: list[Segment], directives: DeliveryDirectives) -> None:
    with pytest.raises(DirectiveError):
        check_directives(directives, held, LIMIT)


@pytest.mark.parametrize(
    ("held", "directives", "reached"),
    [
        (HELD, DeliveryDirectives(), True),
        ([], DeliveryDirectives(), False),
        ([], DeliveryDirectives(0), False),
        (HELD, DeliveryDirectives(11), True),  # 11 is complete
        (HELD, DeliveryDirectives(12), False),  # 12 is still being written
        (HELD_COMPLETE, DeliveryDirectives(12), True),
        (HELD, DeliveryDirectives(13), False),
        (HELD, DeliveryDirectives(5), True),  # gone: answer now
        (HELD, DeliveryDirectives(5, 2), True),
        (HELD, DeliveryDirectives(12, 2), True),
        (HELD, DeliveryDirectives(12, 3), False),  # the hinted part
        (HELD, DeliveryDirectives(11, 3), True),
        (HELD, DeliveryDirectives(11, 4), True),  # past the end of 11 means 12.0, which exists
        (HELD_COMPLETE, DeliveryDirectives(12, 3), False),  # means 13.0
        (HELD_COMPLETE, DeliveryDirectives(13, 0), False),
        ([*HELD_COMPLETE, segment(13, 1, complete=False)], DeliveryDirectives(12, 3), True),
        ([*HELD_COMPLETE, segment(13, 1, complete=False)], DeliveryDirectives(13, 0), True),
        ([*HELD_COMPLETE, segment(13, 1, complete=False)], DeliveryDirectives(13, 1), False),
    ],
)
def test_reached(held: list[Segment], directives: DeliveryDirectives, reached: bool) -> None:
    assert directives_reached(directives, held) is reached
