"""A source's codecs as stored: plain JSON, parameter sets in hex, with no trace of the source URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...remux.fmp4.parameter_sets import ParameterSets
from ..description import AudioSource, SourceInfo, VideoSource

type Decision = tuple[str, str | None, bool, str | None]


def decision(info: SourceInfo) -> Decision:
    """What decisions depend on (WebRTC offered or not, the codecs an answer names); other changes go unnoticed."""
    audio = info.audio.codec if info.audio is not None else None
    return info.video.codec, info.video.profile_level_id, info.reordered, audio


def to_json(info: SourceInfo, seen: float) -> dict[str, Any]:
    video = info.video
    sets = video.parameter_sets
    return {
        "seen": round(seen),
        "video": {
            "codec": video.codec,
            "width": video.width,
            "height": video.height,
            "profile_level_id": video.profile_level_id,
            "parameter_sets": None
            if sets is None
            else {kind: [unit.hex() for unit in getattr(sets, kind)] for kind in ("vps", "sps", "pps")},
        },
        "audio": None
        if info.audio is None
        else {
            "codec": info.audio.codec,
            "sample_rate": info.audio.sample_rate,
            "channels": info.audio.channels,
        },
        "reordered": info.reordered,
    }


def from_json(data: Mapping[str, Any]) -> tuple[SourceInfo, float]:
    """The stored info and when it was last seen; ValueError (or KeyError/TypeError) when the entry is malformed."""
    video = data["video"]
    if video["codec"] not in ("h264", "hevc"):
        raise ValueError(f"unknown video codec {video['codec']!r}")
    sets = video.get("parameter_sets")
    parameter_sets = None
    if sets is not None:
        parameter_sets = ParameterSets(
            *(tuple(bytes.fromhex(unit) for unit in sets[kind]) for kind in ("vps", "sps", "pps"))
        )
    profile = video.get("profile_level_id")
    audio = data.get("audio")
    info = SourceInfo(
        run=0,
        video=VideoSource(
            str(video["codec"]),
            int(video["width"]),
            int(video["height"]),
            None if profile is None else str(profile),
            parameter_sets,
        ),
        audio=None
        if audio is None
        else AudioSource(str(audio["codec"]), int(audio["sample_rate"]), int(audio["channels"])),
        reordered=bool(data["reordered"]),
        order_known=True,
    )
    return info, float(data["seen"])
