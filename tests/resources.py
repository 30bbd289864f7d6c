"""What a test process holds, read from /proc and the threading module: threads, open file descriptors, UDP sockets,
event-loop tasks and resident memory (as is, and in use: once the allocator gave its free pages back). `settle` waits
(bounded) until counts are back to a baseline: threads joined in the executor and sockets closed by the event loop go
a few loop turns after the stop that ended them."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SETTLE_TIMEOUT = 20.0
# Home Assistant's executor grows its pool as jobs come (and keeps the threads): not something a test leaked.
_POOL_THREADS = ("SyncWorker_", "ThreadPoolExecutor-", "asyncio_")


@dataclass(frozen=True)
class Resources:
    threads: tuple[str, ...]  # names of the threads other than executor workers, sorted
    fds: int
    udp_sockets: int
    tasks: int
    rss: int  # bytes

    def leaks_beyond(self, baseline: Resources) -> list[str]:
        """What this holds that `baseline` did not (memory aside)."""
        leaks = []
        if extra := Counter(self.threads) - Counter(baseline.threads):
            leaks.append(f"threads {sorted(extra.elements())}")
        for name in ("fds", "udp_sockets", "tasks"):
            if getattr(self, name) > getattr(baseline, name):
                leaks.append(f"{name} {getattr(baseline, name)} -> {getattr(self, name)}")
        return leaks


def resources() -> Resources:
    gc.collect()
    threads = sorted(thread.name for thread in threading.enumerate() if not thread.name.startswith(_POOL_THREADS))
    return Resources(tuple(threads), _open_fds(), _udp_sockets(), len(asyncio.all_tasks()), rss())


def trimmed_rss() -> int:
    """Resident memory once the garbage is collected and the C allocator has handed its free pages back (glibc keeps
    freed memory in per-thread arenas: RSS that no object holds). What is left is memory something still uses."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(None).malloc_trim(0)
    return rss()


def rss() -> int:
    """This process's resident memory now, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def settle(baseline: Resources, timeout: float = SETTLE_TIMEOUT) -> Resources:
    """Resources once nothing is held beyond `baseline`, or after `timeout` (then the caller sees the leak)."""
    now = resources()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while now.leaks_beyond(baseline):  # closing sockets and joining threads send no event: poll
                await asyncio.sleep(0.1)
                now = resources()
    return now


def _open_fds() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def _udp_sockets() -> int:
    """Our file descriptors that are UDP sockets (IPv4 or IPv6)."""
    inodes: set[str] = set()
    for table in ("udp", "udp6"):
        path = Path(f"/proc/net/{table}")
        if path.exists():
            inodes.update(line.split()[9] for line in path.read_text().splitlines()[1:])
    count = 0
    for entry in Path("/proc/self/fd").iterdir():
        try:
            target = entry.readlink().name
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:[") and target[8:-1] in inodes:
            count += 1
    return count
