"""A real coturn TURN server on 127.0.0.1 for WebRTC tests.

`turn_server` is function-scoped: coturn is ready in ~0.3 s, and each test gets a clean server with its own log.
It depends on `socket_enabled` (pytest-homeassistant-custom-component blocks sockets otherwise), which WebRTC tests
need anyway for aiortc's UDP sockets. `CoturnProcess` works without pytest too (bench scripts).
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from tests.killed_child import KilledOnStop

TURNSERVER = "turnserver"
_STARTUP_TIMEOUT_S = 15.0
_READINESS_POLL_S = 0.02
_PORT_ATTEMPTS = 3


class TurnStartError(RuntimeError):
    """coturn did not come up; the message carries its log."""


class _PortTakenError(TurnStartError):
    pass


@dataclass(frozen=True)
class TurnServer:
    """Where and how to reach the server; `url` is the UDP TURN URL for RTCIceServer(urls=...)."""

    host: str
    port: int
    username: str
    password: str
    realm: str
    url: str

    @property
    def tcp_url(self) -> str:
        return f"turn:{self.host}:{self.port}?transport=tcp"


def free_udp_tcp_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (coturn listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = cast(tuple[str, int], udp.getsockname())[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


class CoturnProcess(KilledOnStop):
    """coturn with long-term credentials on 127.0.0.1, relaying to loopback peers; killed on `stop()`/`with`."""

    def __init__(
        self,
        work_dir: Path,
        *,
        username: str = "stream",
        password: str | None = None,
        realm: str = "stream.test",
        startup_timeout: float = _STARTUP_TIMEOUT_S,
    ) -> None:
        work_dir.mkdir(parents=True, exist_ok=True)
        self._work_dir = work_dir
        password = password or secrets.token_hex(8)
        for attempt in range(_PORT_ATTEMPTS):
            port = free_udp_tcp_port()
            self.log_path = work_dir / f"turnserver-{port}.log"
            self._start(port, username, password, realm)
            try:
                self._wait_until_listening(port, startup_timeout)
            except _PortTakenError:
                # Another process took the port between our probe and coturn's bind: try another one.
                self.stop()
                if attempt == _PORT_ATTEMPTS - 1:
                    raise
                continue
            except BaseException:
                self.stop()
                raise
            break
        self.server = TurnServer(
            host="127.0.0.1",
            port=port,
            username=username,
            password=password,
            realm=realm,
            url=f"turn:127.0.0.1:{port}?transport=udp",
        )

    def _start(self, port: int, username: str, password: str, realm: str) -> None:
        command = [
            TURNSERVER,
            "-n",  # no configuration file: everything is on this command line
            "-v",  # logs the "listener opened" lines that tell us it is ready
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            f"--user={username}:{password}",
            f"--realm={realm}",
            "--lt-cred-mech",
            "--no-tls",  # coturn 4.18 has no --no-dtls (exit 255); DTLS is off by default
            "--allow-loopback-peers",  # without it relay candidates are gathered but traffic times out
            "--log-file=stdout",
            f"--pidfile={self._work_dir / f'turnserver-{port}.pid'}",
        ]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def _wait_until_listening(self, port: int, timeout: float) -> None:
        ready_lines = (f"UDP listener opened on: 127.0.0.1:{port}", f"TCP listener opened on : 127.0.0.1:{port}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if all(line in log for line in ready_lines):
                return
            if "Cannot bind" in log:
                raise _PortTakenError(f"coturn could not bind port {port}:\n{log[-4000:]}")
            if self._process is not None and self._process.poll() is not None:
                raise TurnStartError(f"coturn exited with {self._process.returncode}:\n{log[-4000:]}")
            time.sleep(_READINESS_POLL_S)
        raise TurnStartError(f"coturn was not listening within {timeout} s:\n{self.log()[-4000:]}")

    def log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.log_path.read_text(errors="replace")
        return ""


@pytest.fixture
def turn_server_process(tmp_path: Path, socket_enabled: None) -> Iterator[CoturnProcess]:
    """The coturn process itself (for its log); most tests want `turn_server`."""
    with CoturnProcess(tmp_path / "coturn") as process:
        yield process


@pytest.fixture
def turn_server(turn_server_process: CoturnProcess) -> TurnServer:
    """A running coturn on 127.0.0.1: `TurnServer(host, port, username, password, realm, url)`."""
    return turn_server_process.server
