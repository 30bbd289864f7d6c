"""Frames straight from the demuxer for live viewers (WebRTC), fanned out with one bounded queue per viewer."""

from .feed import LiveFeed, LiveViewer
from .frames import LiveAudioFrame, LiveVideoFrame

__all__ = [
    "LiveAudioFrame",
    "LiveFeed",
    "LiveVideoFrame",
    "LiveViewer",
]
