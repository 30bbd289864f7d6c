"""`CameraSimulator`: runs the RTSP camera (`python -m tests.simulator`) in a child process and controls it."""

from __future__ import annotations

import asyncio
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

from .spec import CameraSpec, format_spec, normalize_mount
from .urls import camera_url

PROJECT_DIR = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0  # generous: the first start builds GStreamer's plugin registry, and CI machines are slow
STOP_GRACE = 3.0
_STDERR_LINES_KEPT = 200


class SimulatorError(Exception):
    """The simulator could not start (the message says why) or was used in the wrong state."""


class _Run:
    """One child process. No threads: Home Assistant's test plugin fails tests that leave threads behind.

    stderr goes to a temporary file (a pipe nobody drains could fill up and freeze the server); stdout is read only
    until the ready line, after which the child writes one more short line at exit, which a pipe buffer holds.
    """

    def __init__(self, argv: list[str]) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self.process = subprocess.Popen(
            argv,
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.PIPE,  # closing it (or our death) tells the child to exit, see --exit-with-stdin
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self.final_stderr: list[str] = []

    def wait_ready(self, timeout: float) -> int:
        """The port from the child's ready line; raises `SimulatorError` if it reports an error, exits or hangs."""
        assert self.process.stdout is not None
        descriptor = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        pending = b""
        with selectors.DefaultSelector() as selector:
            selector.register(descriptor, selectors.EVENT_READ)
            while (remaining := deadline - time.monotonic()) > 0:
                if not selector.select(remaining):
                    continue
                chunk = os.read(descriptor, 65536)
                if not chunk:
                    raise SimulatorError(self._failure(None))
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    event = _parse_event(line)
                    if event.get("event") == "ready" and isinstance(port := event.get("port"), int):
                        return port
                    if event.get("event") == "error":
                        raise SimulatorError(self._failure(str(event.get("message"))))
        raise SimulatorError(self._failure(f"no ready line within {timeout:.0f} s"))

    def stop(self, grace: float) -> int:
        """Ask the child to exit (SIGTERM), kill it after `grace` seconds; return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.final_stderr = self.stderr_lines()
        self._stderr.close()
        return self.process.returncode

    def stderr_lines(self) -> list[str]:
        """What the child wrote on stderr so far (the last lines)."""
        if self._stderr.closed:
            return self.final_stderr
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").splitlines()[-_STDERR_LINES_KEPT:]

    def _failure(self, reason: str | None) -> str:
        try:
            status: int | None = self.process.wait(STOP_GRACE)  # it exits right after reporting why it cannot run
        except subprocess.TimeoutExpired:
            status = None
        detail = reason or "\n".join(self.stderr_lines()[-20:]) or "no output"
        state = "still running" if status is None else f"exited with status {status}"
        return f"camera simulator did not start ({state}): {detail}"


def _parse_event(line: bytes) -> dict[str, object]:
    try:
        event = json.loads(line)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


class CameraSimulator:
    """An RTSP camera on 127.0.0.1 serving `mounts` (name → spec) until stopped; usable as a context manager."""

    def __init__(
        self,
        mounts: Mapping[str, CameraSpec],
        *,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if not mounts:
            raise ValueError("a camera simulator needs at least one mount")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.mounts: dict[str, CameraSpec] = {normalize_mount(name): spec for name, spec in mounts.items()}
        self.username = username
        self.password = password
        self._requested_port = port
        self._port: int | None = None
        self._run: _Run | None = None
        self._last_run: _Run | None = None
        self.exit_status: int | None = None  # of the last stopped process

    @property
    def port(self) -> int:
        """The port it listens on (kept across restarts)."""
        if self._port is None:
            raise SimulatorError("the camera simulator has not been started")
        return self._port

    @property
    def running(self) -> bool:
        return self._run is not None and self._run.process.poll() is None

    @property
    def log(self) -> list[str]:
        """The recent stderr lines of the running (or last) child, for diagnostics."""
        run = self._run or self._last_run
        return run.stderr_lines() if run else []

    def url(self, mount: str, *, credentials: bool = True) -> str:
        """`rtsp://[user:pass@]127.0.0.1:PORT/mount` for one of this simulator's mounts."""
        path = normalize_mount(mount)
        if path not in self.mounts:
            raise ValueError(f"no mount {path} (mounts: {', '.join(self.mounts)})")
        if credentials:
            return camera_url(self.port, path, username=self.username, password=self.password)
        return camera_url(self.port, path)

    def command(self, port: int) -> list[str]:
        """The child's command line."""
        argv = [sys.executable, "-m", "tests.simulator", "--port", str(port), "--exit-with-stdin"]
        for path, spec in self.mounts.items():
            argv += ["--mount", f"{path.lstrip('/')}:{format_spec(spec)}"]
        if self.username is not None and self.password is not None:
            argv += ["--username", self.username, "--password", self.password]
        return argv

    def start(self) -> None:
        """Start serving; returns once the server listens, raises `SimulatorError` with the reason if it cannot."""
        if self.running:
            raise SimulatorError("the camera simulator is already running")
        self.stop()  # collects a child that died on its own
        port = self._port if self._port is not None else self._requested_port
        run = _Run(self.command(port))
        try:
            ready_port = run.wait_ready(READY_TIMEOUT)
        except SimulatorError:
            self.exit_status = run.stop(STOP_GRACE)
            self._last_run = run
            raise
        self._run = run
        self._port = ready_port
        self.exit_status = None

    def stop(self) -> None:
        """Stop serving (SIGTERM, then SIGKILL after a short grace); clients see their connection end."""
        if self._run is not None:
            self.exit_status = self._run.stop(STOP_GRACE)
            self._last_run, self._run = self._run, None

    def restart(self) -> None:
        """Stop, then start again on the same port: a camera dropping off and coming back."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open and nothing is sent, as by a camera that hangs."""
        if self._run is None:
            raise SimulatorError("the camera simulator is not running")
        self._run.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT)."""
        if self._run is None:
            raise SimulatorError("the camera simulator is not running")
        self._run.process.send_signal(signal.SIGCONT)

    async def async_start(self) -> None:
        await asyncio.to_thread(self.start)

    async def async_stop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def async_restart(self) -> None:
        await asyncio.to_thread(self.restart)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        self.stop()
