"""An RTSP camera simulator for tests, benchmarks and `scripts/develop` (GStreamer's RTSP server in a child process).

Each mount streams a live test pattern (colour bars, a moving box, a running clock at the bottom and a machine-readable
capture timecode in the top band, see `timecode`) as H.264 or H.265, optionally with AAC, PCMU, PCMA or Opus audio.
With `sync=True` it adds the A/V sync marker (`marker`: a tone burst each second starting with a white strip in that
frame), which `tests.av_sync` measures in any output.

    with CameraSimulator({"h264": CameraSpec(audio="aac")}) as camera:
        url = camera.url("h264")  # rtsp://127.0.0.1:PORT/h264

Humans: `scripts/camera --mount demo:video=h264,audio=aac,width=1280,height=720` (see `--help`).
"""

from .process import CameraSimulator, SimulatorError
from .spec import CameraSpec
from .timecode import decode_timecode, encode_timecode, timecode_age_ms, wall_clock_ms

__all__ = [
    "CameraSimulator",
    "CameraSpec",
    "SimulatorError",
    "decode_timecode",
    "encode_timecode",
    "timecode_age_ms",
    "wall_clock_ms",
]
