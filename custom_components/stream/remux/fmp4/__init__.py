"""A small fragmented-MP4 (CMAF-style) writer for remuxing H.264/HEVC video and AAC/MP3 audio, plus the codec
helpers it needs: parameter sets, avcC/hvcC, ADTS, RFC 6381 codec strings and display orientation."""

from __future__ import annotations

from .nal import annexb_to_length_prefixed, split_annexb, split_length_prefixed
from .orientation import orientation_matrix, transform_init
from .parameter_sets import ParameterSets, annexb_with_parameter_sets, find_parameter_sets
from .tracks import AudioTrack, VideoTrack, make_audio_track, make_video_track
from .writer import Fmp4Writer

__all__ = [
    "AudioTrack",
    "Fmp4Writer",
    "ParameterSets",
    "VideoTrack",
    "annexb_to_length_prefixed",
    "annexb_with_parameter_sets",
    "find_parameter_sets",
    "make_audio_track",
    "make_video_track",
    "orientation_matrix",
    "split_annexb",
    "split_length_prefixed",
    "transform_init",
]
