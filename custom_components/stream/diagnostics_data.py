"""Counters and last values a stream collects for its diagnostics."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Diagnostics:
    """Thread-safe enough for diagnostics: single writes of small values from the worker thread."""

    def __init__(self) -> None:
        self._counters: Counter[str] = Counter()
        self._values: dict[str, Any] = {}

    def increment(self, key: str) -> None:
        self._counters[key] += 1

    def set_value(self, key: str, value: Any) -> None:
        self._values[key] = value

    def as_dict(self) -> dict[str, Any]:
        return {**self._counters, **self._values}
