"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender

from .fuzz_support import RealStream, real_streams


@pytest.fixture(scope="session")
def real_samples(tmp_path_factory: pytest.TempPathFactory) -> list[RealStream]:
    """Tiny real H.264/HEVC streams (MP4 and MPEG-TS, with AAC) whose packets the fuzz tests damage."""
    return real_streams(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture
async def sender() -> AsyncIterator[RTCRtpSender]:
    """The video sender of a real (unconnected) peer connection, for the RTP sender tests."""
    pc = RTCPeerConnection()
    yield pc.addTransceiver("video", direction="sendonly").sender
    await pc.close()
