"""ICE servers for our side of a session, from the list Home Assistant hands the camera's browser clients.

aiortc (aioice) uses one STUN and one TURN server. We take, in Home Assistant's order (core config, `web_rtc:` YAML,
the default STUN only when neither sets any, then registered servers such as the Cloud relay):
- STUN: the first `stun:` URL — the user's own server when they configured one, otherwise Home Assistant's default;
- TURN: the first server with a `turn:`/`turns:` URL — the user's own relay before the Cloud one — preferring its
  UDP URL, then TCP, then TLS (`turns:`), which is also the cost order of relaying media.
They are read for every session: Cloud TURN credentials expire.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection
    from webrtc_models import RTCIceServer as HaIceServer

# How long gathering waits for STUN/TURN answers before answering with what it has. aioice waits 5 s, which would
# hold up the answer whenever a configured server is unreachable; a reachable one answers in well under this.
GATHER_TIMEOUT = 0.8


def _urls(server: HaIceServer) -> list[str]:
    return [server.urls] if isinstance(server.urls, str) else list(server.urls)


def _turn_rank(url: str) -> int:
    if url.startswith("turns:"):
        return 2
    return 1 if "transport=tcp" in url else 0


def choose_ice_servers(servers: Iterable[HaIceServer]) -> list[RTCIceServer]:
    """At most one STUN and one TURN server, chosen as the module docstring says."""
    servers = list(servers)
    chosen: list[RTCIceServer] = []
    stun = next((url for server in servers for url in _urls(server) if url.startswith("stun:")), None)
    if stun is not None:
        chosen.append(RTCIceServer(urls=stun))
    for server in servers:
        turn_urls = sorted((url for url in _urls(server) if url.startswith(("turn:", "turns:"))), key=_turn_rank)
        if turn_urls:
            chosen.append(RTCIceServer(urls=turn_urls[0], username=server.username, credential=server.credential))
            break
    return chosen


def rtc_configuration(servers: Sequence[RTCIceServer], relay_only: bool = False) -> RTCConfiguration:
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=list(servers), iceTransportPolicy=policy)


def limit_gathering_time(pc: RTCPeerConnection) -> None:
    """Cap each ICE gatherer's wait for STUN/TURN answers at GATHER_TIMEOUT (call after setRemoteDescription,
    which creates the transports, and before setLocalDescription, which gathers)."""
    for transceiver in pc.getTransceivers():
        gatherer: Any = transceiver.sender.transport.transport.iceGatherer
        connection = gatherer._connection  # aioice.Connection: aiortc exposes no gathering timeout of its own
        gather = connection.get_component_candidates
        if not isinstance(gather, functools.partial):
            connection.get_component_candidates = functools.partial(gather, timeout=GATHER_TIMEOUT)
