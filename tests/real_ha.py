"""A real Home Assistant process (`python -m homeassistant`) for end-to-end tests, benchmarks and scripts/develop.

Unlike pytest-homeassistant-custom-component's in-process `hass`, this is Home Assistant as users run it: its own
process, its own event loop, the frontend package served over HTTP. The process lifecycle is blocking (no event loop
involved), so a module-scoped pytest fixture or a bench script can own it; the websocket helper is async and opens on
whichever loop the caller runs.

    config = HomeAssistantConfig(cameras=(FfmpegCamera("Front door", simulator.url("h264")),))
    with start_home_assistant(config, tmp_path) as ha:     # written, started, onboarded, running
        async with ha.websocket() as ws:
            await ws.call({"type": "camera/capabilities", "entity_id": "camera.front_door"})
        assert not ha.log().errors_from("custom_components.stream")

`our_stream=False` runs Home Assistant's built-in stream (no custom_components), for benchmarks; `python=` points at
another venv's interpreter (a smoke test per Home Assistant release). Onboarding: every step but the user is marked
done in storage before the start (the others would set up integrations that call out to the internet: weather,
radio, text-to-speech), then the user step runs over REST as the frontend's onboarding page does, and its
authorization code is exchanged for tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, cast

import aiohttp

from tests.killed_child import KilledOnStop

PROJECT_DIR = Path(__file__).resolve().parent.parent
OUR_INTEGRATION = PROJECT_DIR / "custom_components" / "stream"
HOST = "127.0.0.1"
_STARTUP_TIMEOUT_S = 180.0
_POLL_S = 0.1
USERNAME = "tester"
PASSWORD = "tester-password"


# --- Configuration ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FfmpegCamera:
    """A camera of the `ffmpeg` platform on `url` (RTSP over TCP, like most users configure it)."""

    name: str
    url: str

    @property
    def entity_id(self) -> str:
        return "camera." + re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_")

    def platform_config(self) -> dict[str, str]:
        return {"platform": "ffmpeg", "name": self.name, "input": f"-rtsp_transport tcp -i {self.url}"}


@dataclass(frozen=True)
class HomeAssistantConfig:
    """What goes into the generated configuration.yaml (and the config dir)."""

    cameras: Sequence[FfmpegCamera] = ()
    # The `stream:` block; None leaves it out (cameras still load the stream integration).
    stream: Mapping[str, Any] | None = field(default_factory=dict)
    # Symlink custom_components/stream into the config dir; False runs Home Assistant's built-in stream.
    our_stream: bool = True
    frontend: bool = True
    log_levels: Mapping[str, str] = field(default_factory=lambda: {"custom_components.stream": "debug"})
    # Further top-level keys, as they would appear in configuration.yaml.
    extra: Mapping[str, Any] = field(default_factory=dict)

    def yaml_text(self) -> str:
        config: dict[str, Any] = {
            "homeassistant": {"name": "Stream test", "time_zone": "UTC", "unit_system": "metric"},
            "logger": {"default": "warning", "logs": dict(self.log_levels)},
        }
        if self.frontend:
            config["frontend"] = {}
        if self.stream is not None:
            config["stream"] = dict(self.stream)
        if self.cameras:
            config["ffmpeg"] = {}
            config["camera"] = [camera.platform_config() for camera in self.cameras]
        config.update(self.extra)
        # JSON is YAML: no YAML writer needed, and nothing in it needs YAML's own syntax.
        return "# Written by tests/real_ha.py.\n" + json.dumps(config, indent=2) + "\n"


def write_config_dir(config_dir: Path, config: HomeAssistantConfig, *, port: int) -> None:
    """configuration.yaml, our integration (symlink) and the storage that makes the start unattended."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(config.yaml_text())
    if config.our_stream:
        custom = config_dir / "custom_components"
        custom.mkdir(exist_ok=True)
        link = custom / "stream"
        if not link.is_symlink():
            link.symlink_to(OUR_INTEGRATION, target_is_directory=True)
    write_http_settings(config_dir, host=HOST, port=port)
    mark_onboarding_done_but_user(config_dir)


def write_storage(config_dir: Path, key: str, version: int, minor_version: int, data: Mapping[str, Any]) -> None:
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    document = {"version": version, "minor_version": minor_version, "key": key, "data": data}
    (storage / key).write_text(json.dumps(document, indent=2) + "\n")


def write_http_settings(config_dir: Path, *, host: str, port: int) -> None:
    """Home Assistant 2026.10 keeps the HTTP server's settings in storage (`.storage/http`: a confirmed `stable` and a
    `pending` one on trial); an `http:` block in YAML is migrated once into `pending`, and the frontend then asks the
    user to confirm it or have it reverted after 5 minutes. Written here as confirmed instead, listening on `host`
    only. Rewritten on every start (the caller owns these settings)."""
    stable = {
        "server_host": [host],
        "server_port": port,
        "cors_allowed_origins": ["https://cast.home-assistant.io"],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": True,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": "2026-01-01T00:00:00+00:00",
        "error": None,
        "error_message": None,
    }
    write_storage(config_dir, "http", 2, 2, {"stable": stable, "pending": None, "yaml_migration_done": True})


def mark_onboarding_done_but_user(config_dir: Path) -> None:
    """Onboarding then asks only for a user. Its other steps (location, analytics, the integrations it adds: weather,
    radio, text-to-speech, all calling out to the internet) are marked done. Left alone once onboarding has run."""
    if not (config_dir / ".storage" / "onboarding").exists():
        write_storage(config_dir, "onboarding", 4, 1, {"done": ["core_config", "analytics", "integration"]})


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return cast(tuple[str, int], sock.getsockname())[1]


# --- The log ------------------------------------------------------------------------------------------------------

# Home Assistant 2026.11 added the UTC offset to the time (`06:24:32.794+00:00`).
_RECORD_START = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+(?:[+-]\d\d:?\d\d|Z)? "
    r"(?P<level>[A-Z]+) \((?P<thread>[^)]*)\) \[(?P<logger>[^\]]+)\] "
)


@dataclass(frozen=True)
class LogRecord:
    level: str
    logger: str
    text: str  # the whole record, traceback lines included


@dataclass(frozen=True)
class HomeAssistantLog:
    """Home Assistant's console output, split into records (a traceback belongs to the record before it)."""

    text: str

    def records(self) -> list[LogRecord]:
        records: list[LogRecord] = []
        current: list[str] = []
        level = logger = ""
        for line in self.text.splitlines():
            match = _RECORD_START.match(line)
            if match is None:
                current.append(line)
                continue
            if current and level:
                records.append(LogRecord(level, logger, "\n".join(current)))
            level, logger, current = match["level"], match["logger"], [line]
        if current and level:
            records.append(LogRecord(level, logger, "\n".join(current)))
        return records

    def errors(self) -> list[LogRecord]:
        return [record for record in self.records() if record.level in {"ERROR", "CRITICAL"}]

    def errors_from(self, package: str) -> list[LogRecord]:
        """ERROR/CRITICAL records logged by `package` (a logger name prefix) or by anyone about an error in it, and
        records of any level that carry a traceback through its files."""
        path = f"/{package.replace('.', '/')}/"

        def ours(record: LogRecord) -> bool:
            if record.level in {"ERROR", "CRITICAL"}:
                return record.logger == package or record.logger.startswith(package + ".") or path in record.text
            return "Traceback (most recent call last)" in record.text and path in record.text

        return [record for record in self.records() if ours(record)]


# --- The process --------------------------------------------------------------------------------------------------


class HomeAssistantStartError(RuntimeError):
    """Home Assistant did not come up; the message carries the end of its log."""


@dataclass(frozen=True)
class Tokens:
    """What `/auth/token` answered, plus what the frontend keeps beside it in localStorage `hassTokens`."""

    access_token: str
    refresh_token: str
    expires_in: int
    client_id: str
    hass_url: str

    def frontend_storage(self, now_ms: float) -> dict[str, Any]:
        """The value of localStorage `hassTokens` that makes the frontend start signed in."""
        return {
            "hassUrl": self.hass_url,
            "clientId": self.client_id,
            "expires": int(now_ms + self.expires_in * 1000),
            "refresh_token": self.refresh_token,
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "token_type": "Bearer",
        }


class HomeAssistantProcess(KilledOnStop):
    """`python -m homeassistant --config DIR --skip-pip` in a process group of its own (ffmpeg children included),
    killed with it on `stop()`; its console output goes to `DIR/console.log`."""

    def __init__(self, config_dir: Path, *, port: int, python: str | Path = sys.executable) -> None:
        self.config_dir = config_dir
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.console_path = config_dir / "console.log"
        with self.console_path.open("ab") as console:
            self._process = subprocess.Popen(
                [str(python), "-m", "homeassistant", "--config", str(config_dir), "--skip-pip"],
                # Not the checkout: `-m` puts the working directory first on sys.path, and Home Assistant would load
                # the checkout's custom_components (ours) even when the config dir has none.
                cwd=config_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.tokens: Tokens | None = None

    def stop(self) -> None:
        # SIGKILL to the whole group: Home Assistant's ffmpeg children go too, and a test's config dir holds nothing
        # worth a graceful shutdown.
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
        super().stop()

    def log(self) -> HomeAssistantLog:
        try:
            return HomeAssistantLog(self.console_path.read_text(errors="replace"))
        except FileNotFoundError:
            return HomeAssistantLog("")

    def _failure(self, message: str) -> HomeAssistantStartError:
        return HomeAssistantStartError(f"{message}; end of Home Assistant's output:\n{self.log().text[-6000:]}")

    # Blocking HTTP: the lifecycle must not depend on an event loop.
    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        form: Mapping[str, str] | None = None,
        auth: bool = True,
        timeout: float = 30.0,
    ) -> tuple[int, Any]:
        headers: dict[str, str] = {}
        data: bytes | None = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if auth:
            if self.tokens is None:
                raise RuntimeError("not onboarded yet")
            headers["Authorization"] = f"Bearer {self.tokens.access_token}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, body.decode(errors="replace")

    def wait_until_answering(self, timeout: float = _STARTUP_TIMEOUT_S) -> None:
        """Until the HTTP server answers (Home Assistant opens it once the frontend is set up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                raise self._failure(f"Home Assistant exited with {self._process and self._process.returncode}")
            with contextlib.suppress(OSError):
                status, _ = self.request("GET", "/api/onboarding", auth=False, timeout=5.0)
                if status == 200:
                    return
            time.sleep(_POLL_S)
        raise self._failure(f"Home Assistant did not answer on {self.url} within {timeout} s")

    def onboard(self) -> Tokens:
        """Create the user as the onboarding page does and exchange its authorization code for tokens."""
        client_id = self.url + "/"
        status, body = self.request(
            "POST",
            "/api/onboarding/users",
            json_body={
                "client_id": client_id,
                "name": "Tester",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
            auth=False,
        )
        if status != 200:
            raise self._failure(f"onboarding answered {status}: {body}")
        status, token = self.request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": body["auth_code"], "client_id": client_id},
            auth=False,
        )
        if status != 200:
            raise self._failure(f"/auth/token answered {status}: {token}")
        self.tokens = Tokens(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            expires_in=int(token["expires_in"]),
            client_id=client_id,
            hass_url=self.url,
        )
        return self.tokens

    def wait_until_running(self, timeout: float = _STARTUP_TIMEOUT_S) -> None:
        """Until Home Assistant reports the state RUNNING (every integration of the configuration set up)."""
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            if not self.is_running():
                raise self._failure("Home Assistant exited")
            status, body = self.request("GET", "/api/config")
            state = body.get("state") if status == 200 and isinstance(body, dict) else None
            if state == "RUNNING":
                return
            time.sleep(_POLL_S)
        raise self._failure(f"Home Assistant still {state!r} after {timeout} s")

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[HomeAssistantWebSocket]:
        """An authenticated websocket (`/api/websocket`), on the caller's event loop."""
        if self.tokens is None:
            raise RuntimeError("not onboarded yet")
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{self.url}/api/websocket", max_msg_size=0) as connection,
        ):
            hello = await connection.receive_json()
            if hello.get("type") != "auth_required":
                raise RuntimeError(f"unexpected websocket greeting {hello}")
            await connection.send_json({"type": "auth", "access_token": self.tokens.access_token})
            answer = await connection.receive_json()
            if answer.get("type") != "auth_ok":
                raise RuntimeError(f"websocket authentication failed: {answer}")
            yield HomeAssistantWebSocket(connection)


class WebSocketCommandError(RuntimeError):
    """A websocket command answered `success: false`."""

    def __init__(self, command: Mapping[str, Any], error: Mapping[str, Any]) -> None:
        super().__init__(f"{command.get('type')} failed: {error}")
        self.error = error


class HomeAssistantWebSocket:
    """Request/answer over Home Assistant's websocket API (one command at a time; events are not read by `call`).

    `connection` is the authenticated connection itself, for a client that reads it on its own (e.g.
    tests.webrtc_client, whose ids start far above these); `first_event` reads a command that answers with an event
    only (e.g. `generic_camera/start_preview`)."""

    def __init__(self, connection: aiohttp.ClientWebSocketResponse) -> None:
        self._connection = connection
        self._next_id = 1

    @property
    def connection(self) -> aiohttp.ClientWebSocketResponse:
        return self._connection

    async def _send(self, command: Mapping[str, Any]) -> int:
        message_id = self._next_id
        self._next_id += 1
        await self._connection.send_json({**command, "id": message_id})
        return message_id

    async def first_event(self, command: Mapping[str, Any]) -> Any:
        """Send `command` and return the `event` of the first event message for it; raise WebSocketCommandError if it
        answers with an error result first."""
        message_id = await self._send(command)
        while True:
            answer = await self._connection.receive_json()
            if answer.get("id") != message_id:
                continue
            if answer.get("type") == "event":
                return answer.get("event")
            if answer.get("type") == "result" and not answer.get("success"):
                raise WebSocketCommandError(command, answer.get("error") or {})

    async def call(self, command: Mapping[str, Any]) -> Any:
        """Send `command` (without `id`) and return the `result` of its answer; raise WebSocketCommandError."""
        message_id = await self._send(command)
        while True:
            answer = await self._connection.receive_json()
            if answer.get("id") == message_id and answer.get("type") == "result":
                if not answer.get("success"):
                    raise WebSocketCommandError(command, answer.get("error") or {})
                return answer.get("result")


@dataclass
class RunningHomeAssistant:
    """`start_home_assistant`'s result: the process (running, onboarded) and its config dir."""

    process: HomeAssistantProcess
    config: HomeAssistantConfig
    started_at: float  # time.monotonic() when the process was started

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def tokens(self) -> Tokens:
        assert self.process.tokens is not None
        return self.process.tokens

    @property
    def config_dir(self) -> Path:
        return self.process.config_dir

    def log(self) -> HomeAssistantLog:
        return self.process.log()

    def websocket(self) -> contextlib.AbstractAsyncContextManager[HomeAssistantWebSocket]:
        return self.process.websocket()

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_home_assistant(
    config: HomeAssistantConfig,
    config_dir: Path,
    *,
    python: str | Path = sys.executable,
    port: int | None = None,
    timeout: float = _STARTUP_TIMEOUT_S,
) -> RunningHomeAssistant:
    """Write `config_dir`, start Home Assistant on 127.0.0.1, onboard a user and wait until it is RUNNING.

    Blocking; the process is killed if any step fails. Use the result as a context manager (or call `stop()`)."""
    port = port or free_port()
    write_config_dir(config_dir, config, port=port)
    started_at = time.monotonic()
    process = HomeAssistantProcess(config_dir, port=port, python=python)
    try:
        process.wait_until_answering(timeout)
        process.onboard()
        process.wait_until_running(timeout)
    except BaseException:
        process.stop()
        raise
    return RunningHomeAssistant(process=process, config=config, started_at=started_at)
