"""Repairs in Home Assistant as users run it (its own process, the ffmpeg camera platform, the websocket API the
frontend's Repairs page reads): a camera answering 401 gets its issue after the real thresholds (3 refusals over 30 s),
named after the camera entity, without the password; the camera accepting the password again removes it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.simulator import CameraSimulatorFactory
from tests.real_ha import FfmpegCamera, HomeAssistantConfig, HomeAssistantWebSocket, start_home_assistant
from tests.simulator import CameraSpec
from tests.simulator.urls import camera_url

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]

WAIT = 120.0  # the issue needs 30 s of refusals; the camera's retry comes every 10 s; a loaded machine adds more
MOUNTS = {"cam": CameraSpec(width=320, height=240, fps=15)}
PASSWORD = "right-pa55word"


async def test_repair_issue_comes_and_goes(make_camera_simulator: CameraSimulatorFactory, tmp_path: Path) -> None:
    refusing = make_camera_simulator(MOUNTS, username="viewer", password="another-password")
    port = refusing.port
    camera = FfmpegCamera("Porch", camera_url(port, "cam", username="viewer", password=PASSWORD))
    with start_home_assistant(HomeAssistantConfig(cameras=(camera,)), tmp_path / "config") as ha:
        async with ha.websocket() as ws:
            # Preloaded: the stream keeps trying while nobody watches.
            await ws.call({"type": "camera/update_prefs", "entity_id": camera.entity_id, "preload_stream": True})
            await ws.call({"type": "camera/stream", "entity_id": camera.entity_id})
        async with ha.websocket() as connection:
            watcher = RepairsWatcher(connection)
            issues = await watcher.issues_once(bool)
            assert [issue["issue_id"] for issue in issues] == ["camera.porch_camera_credentials"]
            assert issues[0]["severity"] == "error"
            assert issues[0]["translation_key"] == "camera_credentials"
            assert issues[0]["translation_placeholders"] == {
                "camera": "Porch (camera.porch)",
                "host": f"127.0.0.1:{port}",
            }
            assert issues[0]["is_fixable"] is False
            refusing.stop()
            make_camera_simulator(MOUNTS, port=port, username="viewer", password=PASSWORD)
            assert await watcher.issues_once(lambda issues: not issues) == []
        log = "\n".join(record.text for record in ha.log().records())
    assert "Unauthorized" in log
    assert PASSWORD not in log


class RepairsWatcher:
    """Repairs' list of our issues, asked again whenever Home Assistant's issue registry changes (on a connection of
    its own: websocket ids only have to increase within one)."""

    def __init__(self, ws: HomeAssistantWebSocket) -> None:
        self._connection = ws.connection
        self._last_id = 0
        self._subscription: int | None = None

    async def _send(self, command: dict[str, Any]) -> int:
        self._last_id += 1
        await self._connection.send_json({**command, "id": self._last_id})
        return self._last_id

    async def issues_once(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        if self._subscription is None:
            self._subscription = await self._send(
                {"type": "subscribe_events", "event_type": "repairs_issue_registry_updated"}
            )
        query = await self._send({"type": "repairs/list_issues"})
        async with asyncio.timeout(WAIT):
            while True:
                message = await self._connection.receive_json()
                if message.get("id") == self._subscription and message.get("type") == "event":
                    query = await self._send({"type": "repairs/list_issues"})
                elif message.get("id") == query and message.get("type") == "result":
                    issues = [issue for issue in message["result"]["issues"] if issue["domain"] == "stream"]
                    if done(issues):
                        return issues
