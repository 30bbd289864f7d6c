"""WebRTC through a TURN relay registered the way the Cloud integration registers its own, and without one.

A real coturn on loopback (tests/plugins/turn.py) is added to Home Assistant's ICE servers with
`web_rtc.async_register_ice_servers` (what Cloud does while its `cloud_ice_servers_enabled` pref is on, and undoes when
it is turned off). Our provider reads the camera's client configuration for every offer and picks its TURN server.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiortc import RTCIceServer, RTCPeerConnection
from homeassistant.components.camera import Camera
from homeassistant.components.web_rtc import async_register_ice_servers
from homeassistant.core import HomeAssistant
from webrtc_models import RTCIceServer as HaIceServer

from custom_components.stream.outputs.webrtc import StreamWebRtcProvider
from custom_components.stream.outputs.webrtc.ice import choose_ice_servers
from tests.plugins.cameras import FfmpegCameraFactory
from tests.plugins.turn import CoturnProcess, TurnServer
from tests.plugins.webrtc import WebRtcViewerFactory
from tests.simulator import CameraSimulator

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("loopback_ice")]

FRAMES = 30
ALLOCATED = "ALLOCATE processed, success"


def cloud_like_turn(turn: TurnServer) -> HaIceServer:
    """As Nabu Casa hands them out: one server entry with TCP and UDP URLs and short-lived credentials."""
    return HaIceServer(urls=[turn.tcp_url, turn.url], username=turn.username, credential=turn.password)


def provider_of(hass: HomeAssistant) -> StreamWebRtcProvider:
    provider: StreamWebRtcProvider = hass.data["stream"]["webrtc_provider"]
    return provider


def our_peer(provider: StreamWebRtcProvider, session_id: str | None) -> RTCPeerConnection:
    assert session_id is not None
    pc = provider._sessions[session_id]._pc
    assert pc is not None
    return pc


def nominated_pair(pc: RTCPeerConnection) -> Any:
    # aiortc has no selected-pair API: aioice keeps the nominated pair per ICE component (everything bundles on 1).
    transport = pc.getTransceivers()[0].sender.transport.transport
    return transport._connection._nominated[1]


def sdp_candidate_types(sdp: str) -> set[str]:
    return {line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if line.startswith("a=candidate:")}


def turn_servers_for(camera: Camera) -> list[RTCIceServer]:
    servers = choose_ice_servers(camera.async_get_webrtc_client_configuration().configuration.ice_servers)
    return [server for server in servers if str(server.urls).startswith(("turn:", "turns:"))]


async def test_relay_only_session_goes_through_the_registered_turn_server(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    turn_server_process: CoturnProcess,
) -> None:
    turn = turn_server_process.server
    camera = await ffmpeg_camera(camera_simulator.url("h264"))
    async_register_ice_servers(hass, lambda: [cloud_like_turn(turn)])
    provider = provider_of(hass)
    provider.relay_only = True
    # The UDP URL of the registered server, with its credentials.
    [chosen] = turn_servers_for(camera)
    assert (chosen.urls, chosen.username, chosen.credential) == (turn.url, turn.username, turn.password)

    client_turn = RTCIceServer(urls=turn.url, username=turn.username, credential=turn.password)
    async with webrtc_viewer(camera, relay_only=True, ice_servers=[client_turn], audio=False) as client:
        answer = await client.offer()
        await client.wait_for_frames(video=FRAMES, timeout=30)
        ours = nominated_pair(our_peer(provider, client.session_id))
        theirs = nominated_pair(client.pc)

    print(  # figures for the report: run with -s
        f"answer {client.answer_at - client.offer_sent_at:.3f} s, {client.video.frames} frames, "
        f"ours {ours.local_candidate.type}->{ours.remote_candidate.type}, "
        f"theirs {theirs.local_candidate.type}->{theirs.remote_candidate.type}, "
        f"allocations {turn_server_process.log().count(ALLOCATED)}"
    )
    assert sdp_candidate_types(answer) == {"relay"}
    assert (ours.local_candidate.type, ours.remote_candidate.type) == ("relay", "relay")
    assert (theirs.local_candidate.type, theirs.remote_candidate.type) == ("relay", "relay")
    # Each side talks to the other's relayed address on coturn.
    assert (ours.local_candidate.host, ours.local_candidate.port) == (
        theirs.remote_candidate.host,
        theirs.remote_candidate.port,
    )
    assert ours.local_candidate.port != turn.port  # a relayed transport address, not the server's listening port
    assert client.video.width == 640
    # coturn itself granted an allocation to each peer (a second witness besides the candidates' types).
    assert turn_server_process.log().count(ALLOCATED) >= 2, turn_server_process.log()[-4000:]


async def test_without_a_registered_turn_server_the_answer_has_no_relay_candidate(
    hass: HomeAssistant,
    webrtc_viewer: WebRtcViewerFactory,
    camera_simulator: CameraSimulator,
    ffmpeg_camera: FfmpegCameraFactory,
    turn_server_process: CoturnProcess,
) -> None:
    turn = turn_server_process.server
    camera = await ffmpeg_camera(camera_simulator.url("h264"))
    # Cloud registers its relay while the pref is on, and removes it when the user turns the toggle off.
    remove = async_register_ice_servers(hass, lambda: [cloud_like_turn(turn)])
    assert turn_servers_for(camera)
    remove()
    assert turn_servers_for(camera) == []
    assert not any(
        url.startswith(("turn:", "turns:"))
        for server in camera.async_get_webrtc_client_configuration().configuration.ice_servers
        for url in ([server.urls] if isinstance(server.urls, str) else server.urls)
    )

    async with webrtc_viewer(camera, audio=False) as client:
        answer = await client.offer()
        await client.wait_for_frames(video=FRAMES, timeout=30)
        ours = nominated_pair(our_peer(provider_of(hass), client.session_id))

    print(f"answer candidates {sdp_candidate_types(answer)}, pair {ours}")
    assert "relay" not in sdp_candidate_types(answer)
    assert "host" in sdp_candidate_types(answer)
    assert (ours.local_candidate.type, ours.remote_candidate.type) == ("host", "host")
    # The relay that was registered and removed again was never asked for an allocation.
    assert ALLOCATED not in turn_server_process.log()
