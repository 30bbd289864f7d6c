"""Statistics of the benchmarks' runs: median, percentiles, the worst run, samples pooled over runs, a slope.

Every function here answers None where there is nothing to reduce, so that a report can write `n/a`.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence

from tests.browser_harness import percentile

__all__ = ["median", "per_run", "percentile", "percentile_or_none", "pooled", "seconds", "slope", "worst"]


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values present."""
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def percentile_or_none(values: Sequence[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (the players' pages use the same rule)."""
    return percentile(values, fraction) if values else None


def worst(values: Iterable[float], *, lowest: bool = False) -> float | None:
    """The highest value (the lowest with `lowest`)."""
    present = list(values)
    if not present:
        return None
    return min(present) if lowest else max(present)


def per_run[R](runs: Iterable[R], pick: Callable[[R], float | None]) -> list[float]:
    """`pick` of every run that has the figure."""
    return [value for run in runs if (value := pick(run)) is not None]


def pooled[R](
    runs: Iterable[R], samples: Callable[[R], Sequence[float]], fraction: float, *, per_unit: float = 1.0
) -> float | None:
    """A percentile of every run's samples pooled, divided by `per_unit` (1000: ms to s)."""
    values = [sample for run in runs for sample in samples(run)]
    return percentile(values, fraction) / per_unit if values else None


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope."""
    if len(points) < 2:
        return None
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    denominator = sum((x - mean_x) ** 2 for x, _ in points)
    if denominator == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / denominator


def seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000
