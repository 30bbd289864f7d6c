"""An unreachable STUN server in Home Assistant's ICE servers must not hold up our answer for aioice's 5 s.

The STUN server is a UDP socket on 127.0.0.1 that takes every request and never replies. `loopback_ice` makes our
host address 127.0.0.1, an IPv4 address, for which aioice does query STUN: the test checks that the request from our
session's own host candidate really reached the socket, so a gathering that skipped STUN could not pass it.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.stream.outputs.webrtc.ice import GATHER_TIMEOUT, choose_ice_servers
from tests.plugins.cameras import FfmpegCameraFactory, our_stream
from tests.plugins.webrtc import WebRtcViewerFactory
from tests.simulator import CameraSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("loopback_ice")]

MAX_WARM_ANSWER_S = 1.0
AIOICE_STUN_TIMEOUT_S = 5  # aioice's own default (Connection.get_component_candidates)
STUN_BINDING_REQUEST = 0x0001
STUN_MAGIC_COOKIE = 0x2112A442


@dataclass
class SilentStunServer(asyncio.DatagramProtocol):
    """Records STUN binding requests (source address, time) and answers none of them."""

    requests: list[tuple[tuple[str, int], float]] = field(default_factory=list)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) >= 20:
            message_type, _length, cookie = struct.unpack("!HHI", data[:8])
            if message_type == STUN_BINDING_REQUEST and cookie == STUN_MAGIC_COOKIE:
                self.requests.append(((str(addr[0]), int(addr[1])), time.monotonic()))

    def from_port(self, port: int) -> list[float]:
        return [at for (host, source_port), at in self.requests if (host, source_port) == ("127.0.0.1", port)]


def host_candidate_ports(sdp: str) -> set[int]:
    ports = set()
    for line in sdp.splitlines():
        if line.startswith("a=candidate:") and " typ host" in line:
            ports.add(int(line.split()[5]))
    return ports


def sdp_candidate_types(sdp: str) -> set[str]:
    return {line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def test_unreachable_stun_server_does_not_delay_the_answer(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
) -> None:
    loop = asyncio.get_running_loop()
    transport, stun = await loop.create_datagram_endpoint(SilentStunServer, local_addr=("127.0.0.1", 0))
    try:
        stun_port = int(transport.get_extra_info("sockname")[1])
        stun_url = f"stun:127.0.0.1:{stun_port}"
        # As a user would configure it; set up before the camera, which would set up web_rtc without it.
        assert await async_setup_component(hass, "web_rtc", {"web_rtc": {"ice_servers": [{"url": stun_url}]}})
        camera = await ffmpeg_camera(camera_simulator.url("h264"))
        servers = camera.async_get_webrtc_client_configuration().configuration.ice_servers
        assert [server.urls for server in choose_ice_servers(servers)] == [stun_url]

        async with webrtc_viewer(camera, audio=False) as first:
            await first.offer()  # a cold camera: the answer waits for the stream to open
            await first.wait_for_frames(video=10, timeout=30)
            stream = our_stream(camera)
            assert stream.live.source is not None
            assert stream.live.source.ready

            # The stream is warm: this offer's answer waits only for gathering.
            async with webrtc_viewer(camera, audio=False) as warm:
                answer = await warm.offer()
                await warm.wait_for_frames(video=10, timeout=30)

        answer_s = warm.answer_at - warm.offer_sent_at
        ports = host_candidate_ports(answer)
        asked = [at for port in ports for at in stun.from_port(port)]
        print(  # figures for the report: run with -s
            f"cold answer {first.answer_at - first.offer_sent_at:.3f} s, warm answer {answer_s:.3f} s, "
            f"binding requests from the warm session {len(asked)} (first "
            f"{min(asked) - warm.offer_sent_at if asked else float('nan'):.3f} s after the offer), "
            f"all requests {len(stun.requests)}, candidates {sdp_candidate_types(answer)}"
        )
    finally:
        transport.close()

    # Our session's host socket did ask the silent server, during this offer...
    assert len(ports) == 1, answer
    assert asked, (ports, stun.requests)
    assert all(warm.offer_sent_at <= at <= warm.answer_at for at in asked)
    # ...and answering did not wait for aioice's timeout, only for ours.
    assert GATHER_TIMEOUT < MAX_WARM_ANSWER_S < AIOICE_STUN_TIMEOUT_S
    assert answer_s <= MAX_WARM_ANSWER_S, answer_s
    assert sdp_candidate_types(answer) == {"host"}
