"""Display orientation as the `tkhd` transformation matrix, for the EXIF orientations 1-8.

Orientations 1-4, 6 and 8 use the matrices the built-in writes (ffprobe reports 6 as a 90 degree counterclockwise
displaymatrix rotation, 8 as -90, 3 as 180), so cameras configured for the built-in look the same. For 5 and 7 the
built-in's two matrices are swapped: Chromium shows its 5 as the snapshots' 7 and the other way round (the
built-in's own source notes they "do not seem to get applied properly"); ours put the video the way the snapshots
(the built-in's and ours) and EXIF turn the picture: 5 a transpose, 7 a transverse.
"""

from __future__ import annotations

import struct

from .boxes import find_child, init_tracks

_ONE = 0x00010000  # 1.0 in 16.16 fixed point
_W = 0x40000000  # 1.0 in 2.30 fixed point

# (a, b, c, d) of the matrix [[a, b, 0], [c, d, 0], [0, 0, 1]], indexed by EXIF orientation.
_ROTATIONS = {
    1: (_ONE, 0, 0, _ONE),  # as recorded
    2: (-_ONE, 0, 0, _ONE),  # mirror
    3: (-_ONE, 0, 0, -_ONE),  # rotate 180
    4: (_ONE, 0, 0, -_ONE),  # flip
    5: (0, _ONE, _ONE, 0),  # rotate left and flip: (x, y) -> (y, x)
    6: (0, -_ONE, _ONE, 0),  # rotate left
    7: (0, -_ONE, -_ONE, 0),  # rotate right and flip: (x, y) -> (-y, -x)
    8: (0, _ONE, -_ONE, 0),  # rotate right
}
_MATRIX = struct.Struct(">9i")
_MATRIX_FROM_END = 44  # the tkhd ends with the matrix (36 bytes), then width and height (4 bytes each)


def orientation_matrix(orientation: int) -> bytes:
    """The 36-byte matrix of an EXIF orientation (1-8)."""
    try:
        a, b, c, d = _ROTATIONS[orientation]
    except KeyError:
        raise ValueError(f"Orientation must be 1-8, not {orientation}") from None
    return _MATRIX.pack(a, b, 0, c, d, 0, 0, 0, _W)


def transform_init(init: bytes, orientation: int) -> bytes:
    """A copy of the init segment `init` with the video tracks' tkhd matrix set to `orientation`."""
    matrix = orientation_matrix(orientation)
    result = bytearray(init)
    for start, end in init_tracks(init):
        tkhd = find_child(init, (start, end), b"tkhd")
        mdia = find_child(init, (start, end), b"mdia")
        hdlr = find_child(init, mdia, b"hdlr") if mdia else None
        if tkhd and hdlr and init[hdlr[0] + 16 : hdlr[0] + 20] == b"vide":
            offset = tkhd[1] - _MATRIX_FROM_END
            result[offset : offset + len(matrix)] = matrix
    return bytes(result)
