"""Camera simulator fixtures (a real RTSP server, see `tests.simulator`).

`camera_simulator` (session scope) serves the standard mounts below on a free port of 127.0.0.1; tests only read from
it, so one server serves the whole session. Encoders run only while a mount has clients. Each mount streams the live
test pattern with a keyframe every second; `camera_simulator.url("h264_aac")` gives `rtsp://127.0.0.1:PORT/h264_aac`.

    mount           video                                    audio
    /h264           H.264 High, 640x360@30, 800 kbit/s       -
    /h264_aac       H.264 High, 640x360@30                   AAC-LC 48 kHz mono
    /h264_main      H.264 Main, 640x360@30                   -
    /h264_baseline  H.264 Constrained Baseline, 640x360@30   -
    /h264_bframes   H.264 High with 2 B-frames, 640x360@30   -
    /h264_pcmu      H.264 High, 640x360@30                   G.711 µ-law 8 kHz
    /h264_pcma      H.264 High, 640x360@30                   G.711 A-law 8 kHz
    /h264_opus      H.264 High, 640x360@30                   Opus 48 kHz
    /h265           H.265 Main, 320x240@15, 300 kbit/s       -
    /h265_aac       H.265 Main, 320x240@15, 300 kbit/s       AAC-LC 48 kHz mono

`make_camera_simulator(mounts=None, *, port=0, username=None, password=None)` (function scope) starts a simulator of
the test's own (default: one `/h264` mount as above) for tests that stop/restart it or need credentials; every one it
made is stopped at teardown. A simulator that cannot start raises `SimulatorError` saying why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Protocol

import pytest

from tests.simulator import CameraSimulator, CameraSpec

_H265 = CameraSpec(video="h265", width=320, height=240, fps=15, bitrate=300)

STANDARD_MOUNTS: Mapping[str, CameraSpec] = {
    "h264": CameraSpec(),
    "h264_aac": CameraSpec(audio="aac"),
    "h264_main": CameraSpec(profile="main"),
    "h264_baseline": CameraSpec(profile="constrained-baseline"),
    "h264_bframes": CameraSpec(bframes=2),
    "h264_pcmu": CameraSpec(audio="pcmu"),
    "h264_pcma": CameraSpec(audio="pcma"),
    "h264_opus": CameraSpec(audio="opus"),
    "h265": _H265,
    "h265_aac": dataclasses.replace(_H265, audio="aac"),
}


class CameraSimulatorFactory(Protocol):
    def __call__(
        self,
        mounts: Mapping[str, CameraSpec] | None = None,
        *,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> CameraSimulator: ...


@pytest.fixture(scope="session")
def camera_simulator() -> Iterator[CameraSimulator]:
    """The session's RTSP camera with the standard mounts (see the module docstring)."""
    with CameraSimulator(STANDARD_MOUNTS) as simulator:
        yield simulator


@pytest.fixture
def make_camera_simulator() -> Iterator[CameraSimulatorFactory]:
    """Starts simulators for this test only; all are stopped at teardown, also when the test fails."""
    simulators: list[CameraSimulator] = []

    def make(
        mounts: Mapping[str, CameraSpec] | None = None,
        *,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> CameraSimulator:
        simulator = CameraSimulator(
            mounts or {"h264": STANDARD_MOUNTS["h264"]}, port=port, username=username, password=password
        )
        simulators.append(simulator)
        simulator.start()
        return simulator

    yield make
    for simulator in simulators:
        simulator.stop()
