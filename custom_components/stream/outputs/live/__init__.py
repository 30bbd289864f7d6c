"""Frames straight from the demuxer for live viewers (WebRTC), fanned out with one bounded queue per viewer."""

from .feed import LiveFeed, LiveViewer
from .frames import AudioSource, LiveAudioFrame, LiveVideoFrame, SourceInfo, VideoSource

__all__ = [
    "AudioSource",
    "LiveAudioFrame",
    "LiveFeed",
    "LiveVideoFrame",
    "LiveViewer",
    "SourceInfo",
    "VideoSource",
]
