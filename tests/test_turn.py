"""The TURN fixture: a real coturn relays an aiortc data channel between two peers on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCDataChannel, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from tests.plugins.turn import CoturnProcess, TurnServer

pytestmark = pytest.mark.e2e

TIMEOUT_S = 20


def relay_only(turn: TurnServer, *, password: str | None = None) -> RTCConfiguration:
    return RTCConfiguration(
        iceServers=[RTCIceServer(urls=turn.url, username=turn.username, credential=password or turn.password)],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
    )


def nominated_pair(peer: RTCPeerConnection) -> Any:
    # aiortc has no selected-pair API: aioice keeps the nominated pair per ICE component (everything bundles on 1).
    assert peer.sctp is not None
    return peer.sctp.transport.transport._connection._nominated[1]


def settle[T](future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


def sdp_candidate_types(sdp: str) -> set[str]:
    return {line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if line.startswith("a=candidate:")}


def test_coturn_listens_on_loopback(turn_server_process: CoturnProcess) -> None:
    turn = turn_server_process.server
    assert turn_server_process.is_running()
    assert turn.host == "127.0.0.1"
    assert turn.url == f"turn:127.0.0.1:{turn.port}?transport=udp"
    assert f"UDP listener opened on: 127.0.0.1:{turn.port}" in turn_server_process.log()


async def test_data_channel_flows_through_the_relay(turn_server_process: CoturnProcess) -> None:
    turn = turn_server_process.server
    offerer = RTCPeerConnection(relay_only(turn))
    answerer = RTCPeerConnection(relay_only(turn))
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[None] = loop.create_future()
    reply: asyncio.Future[str] = loop.create_future()

    @answerer.on("datachannel")
    def echo(channel: RTCDataChannel) -> None:
        channel.on("message", lambda message: channel.send(f"echo:{message}"))

    try:
        channel = offerer.createDataChannel("probe")
        channel.on("open", lambda: settle(opened, None))
        channel.on("message", lambda message: settle(reply, message))

        await offerer.setLocalDescription(await offerer.createOffer())
        assert sdp_candidate_types(offerer.localDescription.sdp) == {"relay"}
        await answerer.setRemoteDescription(offerer.localDescription)
        await answerer.setLocalDescription(await answerer.createAnswer())
        assert sdp_candidate_types(answerer.localDescription.sdp) == {"relay"}
        await offerer.setRemoteDescription(answerer.localDescription)

        await asyncio.wait_for(opened, TIMEOUT_S)
        channel.send("ping")
        assert await asyncio.wait_for(reply, TIMEOUT_S) == "echo:ping"

        for peer in (offerer, answerer):
            pair = nominated_pair(peer)
            assert (pair.local_candidate.type, pair.remote_candidate.type) == ("relay", "relay")
            assert pair.local_candidate.host == "127.0.0.1"
    finally:
        await offerer.close()
        await answerer.close()
    # coturn itself granted the allocations (a second witness besides the candidates' type).
    assert "ALLOCATE processed, success" in turn_server_process.log()


async def test_wrong_credentials_gather_no_relay_candidate(turn_server_process: CoturnProcess) -> None:
    peer = RTCPeerConnection(relay_only(turn_server_process.server, password="not-the-password"))
    try:
        peer.createDataChannel("probe")
        await peer.setLocalDescription(await peer.createOffer())
        assert sdp_candidate_types(peer.localDescription.sdp) == set()
    finally:
        await peer.close()
    # The server was asked and refused, rather than never reached.
    assert "credentials are incorrect" in turn_server_process.log()
