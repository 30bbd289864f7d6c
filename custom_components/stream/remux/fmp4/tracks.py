"""Track descriptions: what the init segment and the CODECS attribute need to know about each stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from . import h264, hevc
from .aac import is_adts, parse_adts, parse_audio_specific_config
from .codecs import MP3_CODEC_STRING, aac_codec_string, avc_codec_string, hevc_codec_string
from .parameter_sets import ParameterSets, VideoCodec, find_parameter_sets, packet_nal_length_size

AudioCodec = Literal["aac", "mp3"]

VIDEO_TRACK_ID = 1
AUDIO_TRACK_ID = 2

# FFmpeg codec and decoder names -> ours.
_VIDEO_CODECS: dict[str, VideoCodec] = {"h264": "h264", "hevc": "hevc", "h265": "hevc"}
_AUDIO_CODECS: dict[str, AudioCodec] = {"aac": "aac", "aac_fixed": "aac", "mp3": "mp3", "mp3float": "mp3"}


@dataclass(frozen=True, slots=True)
class VideoTrack:
    codec: VideoCodec
    timescale: int
    width: int
    height: int
    parameter_sets: ParameterSets
    config: bytes  # avcC / hvcC record, 4-byte NAL lengths
    packet_nal_length_size: int = 0  # framing of the demuxed packets: 0 = Annex-B start codes

    @property
    def codec_string(self) -> str:
        sps = self.parameter_sets.sps[0]
        return avc_codec_string(sps) if self.codec == "h264" else hevc_codec_string(sps)


@dataclass(frozen=True, slots=True)
class AudioTrack:
    codec: AudioCodec
    timescale: int
    sample_rate: int
    channels: int
    config: bytes  # AudioSpecificConfig for AAC, empty for MP3

    @property
    def codec_string(self) -> str:
        return aac_codec_string(self.config) if self.codec == "aac" else MP3_CODEC_STRING


def make_video_track(
    codec: str, timescale: int, width: int, height: int, extradata: bytes | None, first_keyframe: bytes | None
) -> VideoTrack:
    """Describe a video stream. The parameter sets come from `extradata` or else the in-band NAL units of
    `first_keyframe`; a 0x0 size is read from the SPS. Raises ValueError when the stream can't be remuxed."""
    name = _VIDEO_CODECS.get(codec)
    if name is None:
        raise ValueError(f"Unsupported video codec {codec!r}: only H.264 and HEVC can be remuxed")
    if timescale <= 0:
        raise ValueError(f"Invalid video timescale {timescale}")
    sets = find_parameter_sets(name, extradata, first_keyframe)
    try:
        if name == "h264":
            info: h264.H264Sps | hevc.HevcSps = h264.parse_sps(sets.sps[0])
            config = h264.build_avcc(sets.sps, sets.pps)
        else:
            info = hevc.parse_sps(sets.sps[0])
            config = hevc.build_hvcc(sets.vps, sets.sps, sets.pps)
    except ValueError as err:
        raise ValueError(f"Unreadable {name.upper()} SPS: {err}") from err
    if width <= 0 or height <= 0:
        width, height = info.width, info.height
    return VideoTrack(name, timescale, width, height, sets, config, packet_nal_length_size(name, extradata))


def make_audio_track(
    codec: str, timescale: int, sample_rate: int, channels: int, extradata: bytes | None, first_packet: bytes | None
) -> AudioTrack:
    """Describe an audio stream. AAC needs an AudioSpecificConfig: the extradata, or one built from the ADTS
    header of `first_packet`. Raises ValueError when the stream can't be remuxed."""
    name = _AUDIO_CODECS.get(codec)
    if name is None:
        raise ValueError(f"Unsupported audio codec {codec!r}: only AAC and MP3 can be remuxed")
    if timescale <= 0:
        raise ValueError(f"Invalid audio timescale {timescale}")
    if name == "mp3":
        return AudioTrack(name, timescale, sample_rate, channels, b"")
    if extradata and len(extradata) >= 2 and not is_adts(extradata):
        config = bytes(extradata)
    elif first_packet and is_adts(first_packet):
        config = parse_adts(first_packet).audio_specific_config()
    else:
        raise ValueError("No AAC AudioSpecificConfig: the stream has no extradata and its first packet is not ADTS")
    _, config_rate, config_channels = parse_audio_specific_config(config)
    return AudioTrack(name, timescale, sample_rate or config_rate, channels or config_channels, config)
