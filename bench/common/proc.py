"""What /proc says (Linux): CPU time of this process's threads and of other processes, peak RSS, UDP buffer drops,
listening TCP sockets."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# Fields of /proc/<pid>/stat after the command name, counted from the state (0).
_PPID, _UTIME, _STIME, _CUTIME, _CSTIME = 1, 11, 12, 13, 14


def _stat(path: Path) -> tuple[str, list[str]]:
    """The command name and the fields after it of a /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) file."""
    stat = path.read_text()
    return stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()


def _seconds(ticks: int) -> float:
    return ticks / os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of every thread of this process: tid -> (name, seconds)."""
    threads: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            name, fields = _stat(entry / "stat")
            threads[int(entry.name)] = (name, _seconds(int(fields[_UTIME]) + int(fields[_STIME])))
    return threads


def process_cpu(pid: int | None) -> float | None:
    """CPU seconds of another process (and its waited-for children), or None."""
    if pid is None:
        return None
    try:
        _, fields = _stat(Path(f"/proc/{pid}/stat"))
    except OSError:
        return None
    return _seconds(sum(int(value) for value in fields[_UTIME : _CSTIME + 1]))


def child_pid(name: str) -> int | None:
    """A child process of ours with this command name (e.g. the ffmpeg that serves a camera file)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            comm, fields = _stat(entry / "stat")
            if comm == name and int(fields[_PPID]) == os.getpid():
                return int(entry.name)
    return None


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak_rss() -> int:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0) and return that, in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS") * 1024


def peak_rss() -> int:
    """This process's peak RSS (VmHWM) in bytes."""
    return _status_kib("VmHWM") * 1024


def udp_errors() -> tuple[int, int]:
    """This network namespace's UDP receive- and send-buffer drops so far (the sandbox's loopback is ours alone)."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    counters = dict(zip(lines[0][1:], map(int, lines[1][1:]), strict=True))
    return counters["RcvbufErrors"], counters["SndbufErrors"]


def tcp_listening(port: int) -> bool:
    """Whether a socket listens on 127.0.0.1:`port` (read from the socket table: a probe connection could use up a
    server's only accept)."""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # 0A: LISTEN
            return True
    return False
