"""`hls_client`: our streams on the simulator's cameras, read through Home Assistant's HTTP server by `PlaylistClient`,
a player's LL-HLS playlist loop (blocking reloads at the preload hint, a 503 asked again after a moment)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from homeassistant.components.camera.prefs import DynamicStreamSettings
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from yarl import URL

from custom_components.stream import Stream, create_stream
from custom_components.stream.const import DOMAIN, HLS_PROVIDER
from tests.simulator import CameraSimulator

WAIT = 30.0  # generous bound for anything that should happen within seconds, on a loaded machine
RETRY_AFTER_503 = 0.1  # the client's pause before asking again (players retry a 503 after a moment)
PART_URI = re.compile(r'#EXT-X-PART:.*URI="\./segment/(\d+)\.(\d+)\.m4s"')
HINT_URI = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="\./segment/(\d+)\.(\d+)\.m4s"')

type OpenStream = Callable[[CameraSimulator], tuple[Stream, str]]


@pytest.fixture
async def hls_client(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> AsyncIterator[tuple[OpenStream, Any]]:
    """(open_stream(camera) -> (stream, playlist path), HTTP client of Home Assistant's server). open_stream serves
    the camera's mount "cam"."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    client = await hass_client_no_auth()
    streams: list[Stream] = []

    def open_stream(camera: CameraSimulator) -> tuple[Stream, str]:
        stream = create_stream(hass, camera.url("cam"), {}, DynamicStreamSettings(), stream_label="camera.test")
        streams.append(stream)
        stream.add_provider(HLS_PROVIDER)
        master = URL(str(client.make_url(stream.endpoint_url(HLS_PROVIDER)))).path
        return stream, master.rsplit("/", 1)[0] + "/playlist.m3u8"

    yield open_stream, client
    for stream in streams:
        await stream.shutdown()


@dataclass
class PlaylistClient:
    """A player's playlist loop: blocking reloads at the preload hint; a 503 is asked again after a moment, as
    players do, and after another error the playlist is reloaded without directives. Remembers the newest part it was
    shown and when."""

    client: Any
    path: str
    newest: tuple[int, int] = (-1, -1)  # (segment, part) of the newest part listed
    newest_at: float = 0.0
    text: str = ""
    statuses: list[int] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        query: dict[str, str] = {}
        while True:
            response = await self.client.get(self.path, params=query)
            self.statuses.append(response.status)
            if response.status != 200:
                if response.status != 503:
                    query = {}  # the directives no longer fit the playlist (400/404): reload it plainly
                self.changed.set()
                await asyncio.sleep(RETRY_AFTER_503)
                continue
            self.text = await response.text()
            if parts := PART_URI.findall(self.text):
                self.newest = max((int(msn), int(part)) for msn, part in parts)
                self.newest_at = time.monotonic()
            if hint := HINT_URI.search(self.text):
                query = {"_HLS_msn": hint[1], "_HLS_part": hint[2]}
            self.changed.set()

    async def wait_past(self, segment: int) -> None:
        """Until the player is shown a part of a segment after `segment`."""
        await self.wait_for(lambda: self.newest[0] > segment)

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


async def play(
    open_stream: OpenStream, client: Any, camera: CameraSimulator
) -> tuple[Stream, PlaylistClient, asyncio.Task[None]]:
    """A started stream of `camera` and a player running on it (its task), once it was shown the second segment."""
    stream, path = open_stream(camera)
    await stream.start()
    player = PlaylistClient(client, path)
    task = asyncio.get_running_loop().create_task(player.run())
    await player.wait_for(lambda: player.newest[0] >= 1)
    return stream, player, task


async def stop_player(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def outage(camera: CameraSimulator, player: PlaylistClient, seconds: float) -> float:
    """Stop the camera for `seconds` (from when the player learns it is gone); the time from the camera answering
    again to the player being shown a part of the new run."""
    await camera.async_stop()
    await player.wait_for(lambda: player.statuses[-1] == 503)
    await asyncio.sleep(seconds)  # the outage itself: what the test varies
    return await _back(camera, player)


async def flap(camera: CameraSimulator, player: PlaylistClient, seconds: float) -> float:
    """Stop the camera for `seconds`, whether or not anyone noticed; the time from the camera answering again to the
    player being shown a part of the new run."""
    await camera.async_stop()
    await asyncio.sleep(seconds)  # the outage itself: what the test varies
    return await _back(camera, player)


async def _back(camera: CameraSimulator, player: PlaylistClient) -> float:
    await camera.async_start()
    back = time.monotonic()
    # The old run's last segment may be listed during the outage: the new run's media is in a segment after the one
    # listed when the camera is back.
    await player.wait_past(player.newest[0])
    assert "#EXT-X-DISCONTINUITY" in player.text  # the player keeps its playlist; the new run follows a discontinuity
    return player.newest_at - back
