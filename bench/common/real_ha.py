"""Home Assistant in a process of its own (tests/real_ha.py), started afresh for every run of a benchmark.

`new_config_dir` gives each start a config dir of its own, seeded with storage files an earlier start left
(`wait_for_file` waits for one to be written); `stun_server` gives both WebRTC peers a local STUN server;
`stream_types` asks what the frontend would be offered for a camera; `logged_problems` reads what an integration
logged.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from tests.plugins.turn import CoturnProcess
from tests.real_ha import RunningHomeAssistant

PROBLEM_LEVELS = frozenset({"WARNING", "ERROR", "CRITICAL"})


def new_config_dir(work_dir: Path, prefix: str, seeds: Mapping[Path, Path]) -> Path:
    """A new config dir under `work_dir` holding a copy of each seed file (path in the config dir -> the file)."""
    config_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=work_dir))
    for relative, source in seeds.items():
        (config_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, config_dir / relative)
    return config_dir


async def wait_for_file(path: Path, timeout_s: float, why: str) -> None:
    """Until `path` exists; RuntimeError after `timeout_s` (`why`: when it should have been there)."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(path.exists):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {path.name} {timeout_s:g} s after {why}")
        await asyncio.sleep(0.25)


@contextmanager
def stun_server(choice: str, work_dir: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """The configuration.yaml keys for a STUN server ("local": a coturn running for the block; "default": Home
    Assistant's own, which the sandbox cannot reach), and what the report says about it."""
    if choice == "default":
        yield {}, "Home Assistant's default (stun.home-assistant.io), which the sandbox cannot reach"
        return
    with CoturnProcess(work_dir / "coturn") as coturn:
        url = f"stun:{coturn.server.host}:{coturn.server.port}"
        text = (
            f"a local one (coturn, `web_rtc: ice_servers: url: {url}`) in every case, standing in for Home Assistant's"
            " default (stun.home-assistant.io), which a home with internet reaches but the sandbox does not"
        )
        yield {"web_rtc": {"ice_servers": [{"url": url}]}}, text


async def stream_types(ha: RunningHomeAssistant, entity_id: str) -> list[str]:
    """The stream types `camera/capabilities` offers the frontend for `entity_id`."""
    async with ha.websocket() as ws:
        capabilities = await ws.call({"type": "camera/capabilities", "entity_id": entity_id})
    return cast(list[str], capabilities["frontend_stream_types"])


def logged_problems(ha: RunningHomeAssistant, logger: str) -> list[str]:
    """The first line of every warning and error that `logger` (or a child of it) logged."""
    return [
        record.text.splitlines()[0]
        for record in ha.log().records()
        if record.level in PROBLEM_LEVELS and record.logger.startswith(logger)
    ]
