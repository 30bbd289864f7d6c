"""Child processes of a benchmark (this Python running a bench script in a mode of its own), driven with JSON lines.

The parent writes JSON commands to the child's stdin; the child answers each with one event, a JSON object with an
`event` name, on a stdout line that starts with a marker (anything else it prints is skipped). A child that is
ready says so with a `ready` event; it ends when its stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import IO, Any

type Event = dict[str, Any]

STDOUT_LIMIT = 2**26  # one event may hold every sample of a measured window
STDIN_LIMIT = 2**20
STDERR_TAIL_CHARS = 4000


class ChildError(RuntimeError):
    """A child process exited, answered out of turn or not in time; the message ends with its stderr."""


# -- in the child ----------------------------------------------------------------------------------------------------


def emit(marker: str, event: Mapping[str, object]) -> None:
    """One event, as a marked line on stdout."""
    sys.stdout.write(marker + json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def commands() -> AsyncIterator[Event]:
    """The JSON commands on stdin, until it closes."""
    reader = asyncio.StreamReader(limit=STDIN_LIMIT)
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command: Event = json.loads(line)
        yield command


# -- in the parent ---------------------------------------------------------------------------------------------------


def _event(line: str, marker: str) -> Event | None:
    if not line.startswith(marker):
        return None
    event: Event = json.loads(line.removeprefix(marker))
    return event


class ChildProcess:
    """A running child: send it commands, read its events; its stderr is kept in a file for error messages."""

    def __init__(self, name: str, marker: str, process: asyncio.subprocess.Process, stderr: IO[bytes]) -> None:
        self.name = name
        self._marker = marker
        self._process = process
        self._stderr = stderr

    @classmethod
    async def launch(
        cls,
        name: str,
        args: Sequence[str],
        *,
        marker: str,
        ready_timeout: float,
        env: Mapping[str, str] | None = None,
    ) -> tuple[ChildProcess, Event]:
        """Start `python args...` and wait for its `ready` event (returned with the child); kill it if none comes."""
        stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close(); a pipe nobody drains could fill up)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=env,
            limit=STDOUT_LIMIT,
        )
        child = cls(name, marker, process, stderr)
        try:
            ready = await child.read("ready", ready_timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await child.close()
            raise
        return child, ready

    @property
    def pid(self) -> int:
        return self._process.pid

    async def request(self, command: Mapping[str, object], reply: str, timeout: float) -> Event:
        """Send `command` and return the child's answer, which must be the event `reply`."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command).encode() + b"\n")
        await self._process.stdin.drain()
        return await self.read(reply, timeout)

    async def read(self, wanted: str, timeout: float) -> Event:
        """The child's next event, which must be `wanted`; ChildError if it is another, late, or the child exits."""
        assert self._process.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                while line := await self._process.stdout.readline():
                    if (event := _event(line.decode(errors="replace"), self._marker)) is None:
                        continue
                    if event.get("event") != wanted:
                        raise ChildError(f"{self.name} answered {event!r}, expected {wanted!r}")
                    return event
        except TimeoutError:
            reason = f"no {wanted!r} within {timeout:g} s"
        else:
            reason = f"exited ({await self._process.wait()}) instead of {wanted!r}"
        raise ChildError(f"{self.name} {reason}:\n{self.stderr_tail()}")

    def stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-STDERR_TAIL_CHARS:]

    async def close(self, timeout: float = 30.0) -> None:
        """Close its stdin (the end of its commands: it finishes and exits); kill it if it takes longer."""
        if self._process.stdin is not None and not self._process.stdin.is_closing():
            self._process.stdin.close()
        try:
            async with asyncio.timeout(timeout):
                await self._process.wait()
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
        self._stderr.close()


def run_child(args: Sequence[str], *, marker: str, wanted: str) -> Event:
    """Run `python args...` to its end (no commands: stdin stays empty) and return its event `wanted`."""
    completed = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines():
        if (event := _event(line, marker)) is not None and event.get("event") == wanted:
            return event
    raise ChildError(f"no {wanted!r} from the child ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
