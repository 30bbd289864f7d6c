"""The benchmarks' reports: numbers as text, the head every report starts with (title, command, machine), tables
and warnings in markdown, and the result file bench/results/<name>-<date><suffixes>.md."""

from __future__ import annotations

import datetime
import os
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from homeassistant import const as ha_const

from bench.common import PROJECT_DIR

RESULTS_DIR = PROJECT_DIR / "bench" / "results"


def fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def ratio(ours: float | None, builtin: float | None) -> str:
    """ours/built-in as `0.42x`, or n/a when either is missing or the built-in's is not positive."""
    if ours is None or builtin is None or builtin <= 0:
        return "n/a"
    return f"{ours / builtin:.2f}x"


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


class Machine:
    """What the figures were measured on: CPUs, versions, and the load average when the benchmark began (made then)
    and when its report is written."""

    def __init__(self) -> None:
        self.load_before = load_average()

    def line(self, note: str = "") -> str:
        """The report's `Machine:` line; `note` goes before the load average."""
        return (
            f"Machine: {os.cpu_count()} CPUs, {note}load average {self.load_before} before, {load_average()} after;"
            f" {versions()}"
        )


def versions() -> str:
    import av  # heavy: only the report needs its version

    return f"Python {sys.version.split()[0]}, Home Assistant {ha_const.__version__}, PyAV {av.__version__}"


def now_iso() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def head(title: str, script: str, argv: Sequence[str]) -> list[str]:
    """A report's first lines: `# <title> <now>` and the command that ran bench/<script>.py."""
    return [f"# {title} {now_iso()}", "", f"Command: `{shlex.join(['python', f'bench/{script}.py', *argv])}`  "]


def table_head(header: str) -> list[str]:
    """A markdown table's header row and the separator row under it."""
    return [header, "|" + "---|" * (header.count("|") - 1)]


def warnings_section(warnings: Iterable[str]) -> list[str]:
    """`## Warnings` with one item each, or nothing when there are none."""
    items = [f"- {warning}" for warning in warnings]
    return ["", "## Warnings", "", *items] if items else []


def write_report(name: str, suffixes: Sequence[str], text: str) -> Path:
    """Write `text` to bench/results/<name>-<date><suffixes>.md and return the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{datetime.date.today().isoformat()}{''.join(suffixes)}.md"
    path.write_text(text)
    return path


def publish(name: str, text: str, *suffixes: tuple[str, bool]) -> Path:
    """Print the report and write it to bench/results/<name>-<date><suffixes>.md, each suffix whose flag is on (the
    path is printed too)."""
    print()
    print(text)
    path = write_report(name, [suffix for suffix, on in suffixes if on], text)
    print(f"Written to {path.relative_to(PROJECT_DIR)}")
    return path
