"""The eight EXIF orientations as numpy turns a picture, for tests that check a picture was turned the right way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Each EXIF orientation as numpy turns the picture (6 = rotate left = a quarter turn counterclockwise).
ORIENTATIONS: dict[int, Callable[[NDArray[Any]], NDArray[Any]]] = {
    1: lambda p: p,
    2: np.fliplr,
    3: lambda p: np.rot90(p, 2),
    4: np.flipud,
    5: lambda p: np.flipud(np.rot90(p)),
    6: np.rot90,
    7: lambda p: np.flipud(np.rot90(p, -1)),
    8: lambda p: np.rot90(p, -1),
}
