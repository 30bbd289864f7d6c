"""Camera orientation, as EXIF numbers (the same values as the built-in's enum)."""

from __future__ import annotations

from enum import IntEnum


class Orientation(IntEnum):
    """How the camera's picture must be turned for display; applied through the MP4 matrix, never by transcoding."""

    NO_TRANSFORM = 1
    MIRROR = 2
    ROTATE_180 = 3
    FLIP = 4
    ROTATE_LEFT_AND_FLIP = 5
    ROTATE_LEFT = 6
    ROTATE_RIGHT_AND_FLIP = 7
    ROTATE_RIGHT = 8
