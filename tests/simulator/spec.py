"""What one camera mount streams, and its text form for the command line (`key=value,key=value`)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, get_args

type VideoCodec = Literal["h264", "h265"]
type H264Profile = Literal["constrained-baseline", "main", "high"]
type AudioCodec = Literal["aac", "pcmu", "pcma", "opus"]

VIDEO_CODECS: tuple[str, ...] = get_args(VideoCodec.__value__)
H264_PROFILES: tuple[str, ...] = get_args(H264Profile.__value__)
AUDIO_CODECS: tuple[str, ...] = get_args(AudioCodec.__value__)
NO_AUDIO = "none"
MAX_BFRAMES = 16


@dataclass(frozen=True)
class CameraSpec:
    """One mount's stream. `profile` applies to H.264 only; `keyframe_interval` is in seconds, `bitrate` in kbit/s.

    With `sync`, the audio is the sync marker's tone bursts instead of ticks (see `marker`)."""

    video: VideoCodec = "h264"
    profile: H264Profile = "high"
    bframes: int = 0
    audio: AudioCodec | None = None
    width: int = 640
    height: int = 360
    fps: int = 30
    keyframe_interval: float = 1.0
    bitrate: int = 800
    sync: bool = False  # the sync marker of `marker`: a tone burst a second, with a white strip in that frame

    def __post_init__(self) -> None:
        problems = list(_problems(self))
        if problems:
            raise ValueError(f"invalid camera spec: {'; '.join(problems)}")

    @property
    def keyframe_interval_frames(self) -> int:
        """The encoder's key-int-max: the keyframe interval in frames, at least 1."""
        return max(1, round(self.keyframe_interval * self.fps))


def _problems(spec: CameraSpec) -> list[str]:
    problems: list[str] = []
    if spec.video not in VIDEO_CODECS:
        problems.append(f"video must be one of {', '.join(VIDEO_CODECS)}, not {spec.video!r}")
    if spec.profile not in H264_PROFILES:
        problems.append(f"profile must be one of {', '.join(H264_PROFILES)}, not {spec.profile!r}")
    if spec.audio is not None and spec.audio not in AUDIO_CODECS:
        problems.append(f"audio must be one of {', '.join(AUDIO_CODECS)} or None, not {spec.audio!r}")
    if not 0 <= spec.bframes <= MAX_BFRAMES:
        problems.append(f"bframes must be within 0..{MAX_BFRAMES}")
    if spec.bframes and spec.video == "h264" and spec.profile == "constrained-baseline":
        problems.append("constrained-baseline has no B-frames")
    # I420 needs even sizes; the timecode needs at least 2 pixels per cell and room below its band.
    for name, size in (("width", spec.width), ("height", spec.height)):
        if size < 64 or size % 2:
            problems.append(f"{name} must be even and at least 64")
    if not 1 <= spec.fps <= 120:
        problems.append("fps must be within 1..120")
    if not (math.isfinite(spec.keyframe_interval) and spec.keyframe_interval > 0):
        problems.append("keyframe_interval must be a positive number of seconds")
    if spec.bitrate < 1:
        problems.append("bitrate must be a positive number of kbit/s")
    return problems


def parse_spec(text: str) -> CameraSpec:
    """Parse `video=h264,audio=aac,width=1280` (any subset of the fields; `audio=none` for no audio)."""
    fields = {field.name: field for field in dataclasses.fields(CameraSpec)}
    values: dict[str, object] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, separator, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not separator or key not in fields:
            raise ValueError(f"expected key=value with a key among {', '.join(fields)}, got {item!r}")
        values[key] = _parse_value(key, raw.strip())
    return CameraSpec(**values)  # type: ignore[arg-type]  # values are checked by CameraSpec itself


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _parse_value(key: str, raw: str) -> object:
    if key == "sync":
        if raw.lower() not in _TRUE + _FALSE:
            raise ValueError(f"sync must be 1 or 0, got {raw!r}")
        return raw.lower() in _TRUE
    if key == "audio":
        return None if raw.lower() == NO_AUDIO else raw.lower()
    if key in ("video", "profile"):
        return raw.lower()
    try:
        return float(raw) if key == "keyframe_interval" else int(raw)
    except ValueError:
        kind = "a number" if key == "keyframe_interval" else "a whole number"
        raise ValueError(f"{key} must be {kind}, got {raw!r}") from None


def format_spec(spec: CameraSpec) -> str:
    """The text form of `spec` that `parse_spec` reads back; fields left at their default are omitted."""
    default = CameraSpec()
    items = []
    for field in dataclasses.fields(CameraSpec):
        value = getattr(spec, field.name)
        if value != getattr(default, field.name):
            items.append(f"{field.name}={format_value(value)}")
    return ",".join(items)


def format_value(value: object) -> str:
    """A field's value as the text form writes it (`none` for no audio, 1/0 for flags)."""
    if value is None:
        return NO_AUDIO
    if isinstance(value, bool):
        return str(int(value))
    return str(value)


def normalize_mount(name: str) -> str:
    """A mount path as the RTSP server wants it: one leading slash, e.g. `/h264`."""
    stripped = name.strip().strip("/")
    if not stripped or any(character.isspace() or character in "?#:,@\"'\\" for character in stripped):
        raise ValueError(f"invalid mount name {name!r}")
    return f"/{stripped}"
