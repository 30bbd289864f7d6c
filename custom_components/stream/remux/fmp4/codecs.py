"""RFC 6381 codec strings for the CODECS attribute of an HLS master playlist."""

from __future__ import annotations

from . import hevc
from .aac import parse_audio_specific_config

# Some Google Cast devices refuse anything above level 4.1, so the advertised level is capped (as the built-in does).
MAX_AVC_LEVEL = 0x29
MP3_CODEC_STRING = "mp4a.40.34"
_PROFILE_SPACES = ("", "A", "B", "C")


def avc_codec_string(sps: bytes) -> str:
    """`avc1.PPCCLL`: profile_idc, constraint flags and level_idc, the three bytes after the SPS NAL header."""
    if len(sps) < 4:
        raise ValueError("H.264 SPS is too short")
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{min(sps[3], MAX_AVC_LEVEL):02x}"


def hevc_codec_string(sps: bytes) -> str:
    """`hvc1.<space><profile>.<compatibility>.<tier><level>[.<constraint bytes>]` per ISO/IEC 14496-15 Annex E."""
    info = hevc.parse_sps(sps)
    # The compatibility flags are written in reverse bit order (flag 0 becomes the least significant bit).
    compatibility = int(f"{info.compatibility_flags:032b}"[::-1], 2)
    tier = "H" if info.tier_flag else "L"
    constraints = "".join(f".{byte:X}" for byte in info.constraint_bytes.rstrip(b"\x00"))
    space = _PROFILE_SPACES[info.profile_space]
    return f"hvc1.{space}{info.profile_idc}.{compatibility:X}.{tier}{info.level_idc}{constraints}"


def aac_codec_string(audio_specific_config: bytes) -> str:
    """`mp4a.40.<audioObjectType>`."""
    return f"mp4a.40.{parse_audio_specific_config(audio_specific_config)[0]}"
