"""The damage log: every dropped packet is counted, each kind is logged once a minute at most."""

from __future__ import annotations

import logging

import pytest

from custom_components.stream.source.damage import DamageLog


def test_one_line_per_kind(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("custom_components.stream.stream.test_camera")
    damage = DamageLog(logger)
    with caplog.at_level(logging.WARNING):
        for index in range(1000):
            damage.report("live video", ValueError(f"NAL unit length {index} exceeds the 4 bytes left"))
            if index % 10 == 0:
                damage.report("fMP4 audio", ValueError("broken"))
    assert damage.dropped == {"live video": 1000, "fMP4 audio": 100}
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("Dropped a damaged live video packet (ValueError: NAL unit length 0 exceeds")
    assert lines[1].startswith("Dropped a damaged fMP4 audio packet (ValueError: broken)")
    assert {record.name for record in caplog.records} == {logger.name}  # the camera's own logger names it
