"""Unit tests of the WebRTC building blocks: ICE server choice, the live feed's per-viewer queues, timestamps."""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.clock import current_datetime, datetime_to_ntp
from webrtc_models import RTCIceServer as HaIceServer

from custom_components.stream.outputs.live import LiveVideoFrame, LiveViewer
from custom_components.stream.outputs.live.feed import MAX_QUEUED_VIDEO, LiveFeed
from custom_components.stream.outputs.live.video import AnnexBConverter
from custom_components.stream.outputs.webrtc.codecs import h264_capability
from custom_components.stream.outputs.webrtc.ice import choose_ice_servers
from custom_components.stream.outputs.webrtc.rtp_cost import decline_unused_extensions, ntp_time_now
from custom_components.stream.outputs.webrtc.tracks import RtpTimeline
from custom_components.stream.source.description import VideoSource

from .test_webrtc_chromium_offer import CHROMIUM_SOFTWARE_H264_OFFER

SPS = bytes.fromhex("6764001facd9405005bb011000000300100000030300f1831960")
PPS = bytes.fromhex("68ebe3cb22c0")
IDR = bytes.fromhex("658884") + b"\x11" * 20
P_FRAME = bytes.fromhex("419a24") + b"\x22" * 20


def annexb(*units: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + unit for unit in units)


def length_prefixed(*units: bytes) -> bytes:
    return b"".join(len(unit).to_bytes(4) + unit for unit in units)


def test_ice_choice_takes_the_first_stun_and_the_first_turn_preferring_udp() -> None:
    servers = [
        HaIceServer(urls=["stun:user.example:3478"]),
        HaIceServer(urls=["stun:stun.home-assistant.io:3478", "stun:stun.home-assistant.io:80"]),
        HaIceServer(
            urls=[
                "turns:cloud.example:443?transport=tcp",
                "turn:cloud.example:3478?transport=tcp",
                "turn:cloud.example",
            ],
            username="u",
            credential="c",
        ),
        HaIceServer(urls="turn:second.example", username="x", credential="y"),
    ]

    chosen = choose_ice_servers(servers)

    assert [(server.urls, server.username, server.credential) for server in chosen] == [
        ("stun:user.example:3478", None, None),
        ("turn:cloud.example", "u", "c"),
    ]


def test_ice_choice_without_turn_uses_no_relay() -> None:
    chosen = choose_ice_servers([HaIceServer(urls=["stun:stun.home-assistant.io:3478"])])

    assert [server.urls for server in chosen] == ["stun:stun.home-assistant.io:3478"]
    assert choose_ice_servers([]) == []


def test_converter_puts_parameter_sets_before_keyframes_that_lack_them() -> None:
    extradata = annexb(SPS, PPS)
    converter = AnnexBConverter("h264", extradata)

    assert converter.convert(annexb(IDR), keyframe=True) == annexb(SPS, PPS, IDR)
    assert converter.convert(annexb(P_FRAME), keyframe=False) == annexb(P_FRAME)
    with_sets = annexb(SPS, PPS, IDR)
    assert converter.convert(with_sets, keyframe=True) == with_sets


def test_converter_turns_length_prefixed_packets_into_annexb() -> None:
    avcc = bytes([1, SPS[1], SPS[2], SPS[3], 0xFF, 0xE1]) + len(SPS).to_bytes(2) + SPS + b"\x01"
    avcc += len(PPS).to_bytes(2) + PPS
    converter = AnnexBConverter("h264", avcc)

    assert converter.convert(length_prefixed(IDR), keyframe=True) == annexb(SPS, PPS, IDR)
    assert converter.convert(length_prefixed(P_FRAME), keyframe=False) == annexb(P_FRAME)


def test_converter_without_parameter_sets_waits_for_in_band_ones() -> None:
    converter = AnnexBConverter("h264", None)

    assert converter.convert(annexb(IDR), keyframe=True) is None
    assert converter.convert(annexb(SPS, PPS, IDR), keyframe=True) == annexb(SPS, PPS, IDR)
    assert converter.convert(annexb(IDR), keyframe=True) == annexb(SPS, PPS, IDR)


def frame(pts: int, keyframe: bool = False) -> LiveVideoFrame:
    return LiveVideoFrame(run=1, pts=pts, keyframe=keyframe, data=b"x")


async def test_viewer_starts_on_a_keyframe() -> None:
    viewer = LiveViewer()
    viewer.put_video(frame(0))
    viewer.put_video(frame(1, keyframe=True))
    viewer.put_video(frame(2))

    assert [(await viewer.next_video()) for _ in range(2)] == [frame(1, keyframe=True), frame(2)]


async def test_a_slow_viewer_skips_to_the_next_keyframe() -> None:
    viewer = LiveViewer()
    viewer.put_video(frame(0, keyframe=True))
    for pts in range(1, MAX_QUEUED_VIDEO + 5):
        viewer.put_video(frame(pts))
    viewer.put_video(frame(1000, keyframe=True))
    viewer.put_video(frame(1001))

    assert viewer.dropped_video == MAX_QUEUED_VIDEO
    assert await viewer.next_video() == frame(1000, keyframe=True)
    assert await viewer.next_video() == frame(1001)


async def test_a_new_viewer_shows_the_cached_keyframe_then_waits_for_the_next() -> None:
    viewer = LiveViewer()
    viewer.start_with(frame(0, keyframe=True))
    viewer.put_video(frame(1))  # references frames the viewer never saw
    viewer.put_video(frame(30, keyframe=True))

    assert await viewer.next_video() == frame(0, keyframe=True)
    assert await viewer.next_video() == frame(30, keyframe=True)


def started_feed() -> LiveFeed:
    """A feed whose worker side runs on this thread (its hand-over to the event loop is a direct call)."""
    feed = LiveFeed(lambda func, *args: func(*args))
    feed.start_run(VideoSource("h264", 640, 360, None), 90000, annexb(SPS, PPS), None, 1, None)
    return feed


async def test_the_first_viewer_starts_with_the_keyframe_the_feed_kept_while_nobody_watched() -> None:
    feed = started_feed()
    feed.video(0, True, annexb(IDR))
    feed.video(3000, False, annexb(P_FRAME))  # nobody watches: dropped

    viewer = feed.add_viewer()
    feed.video(6000, False, annexb(P_FRAME))  # references the dropped frame
    feed.video(90000, True, annexb(IDR))

    assert await viewer.next_video() == LiveVideoFrame(run=1, pts=0, keyframe=True, data=annexb(SPS, PPS, IDR))
    assert await viewer.next_video() == LiveVideoFrame(run=1, pts=90000, keyframe=True, data=annexb(SPS, PPS, IDR))


async def test_a_stopped_workers_last_keyframe_is_not_shown() -> None:
    feed = started_feed()
    feed.video(0, True, annexb(IDR))
    feed.forget_keyframe()

    viewer = feed.add_viewer()
    feed.video(3000, False, annexb(P_FRAME))
    feed.video(90000, True, annexb(IDR))

    first = await viewer.next_video()
    assert first is not None
    assert first.pts == 90000


async def test_closing_a_viewer_ends_its_reads() -> None:
    viewer = LiveViewer()
    read = asyncio.ensure_future(viewer.next_video())
    await asyncio.sleep(0)
    viewer.close("camera gone")

    assert await read is None
    assert viewer.error == "camera gone"


def test_timeline_continues_across_runs_and_never_goes_back() -> None:
    timeline = RtpTimeline(step=3000)

    assert [timeline.rebase(1, pts) for pts in (90000, 93000, 96000)] == [0, 3000, 6000]
    assert timeline.rebase(2, 5) == 9000  # a new run: follows on one frame later
    assert timeline.rebase(2, 3005) == 12000
    assert timeline.rebase(2, 3005) == 12001  # a repeated timestamp still moves forward


def test_timeline_follows_a_source_clock_that_jumps_back_within_a_run() -> None:
    timeline = RtpTimeline(step=3000)

    assert [timeline.rebase(1, pts) for pts in (900000, 903000, 906000)] == [0, 3000, 6000]
    assert timeline.rebase(1, 903000) == 6001  # one frame back: held just ahead
    assert timeline.rebase(1, 0) == 9001  # the camera's clock reset: follows on one frame later
    assert timeline.rebase(1, 3000) == 12001  # and runs at the camera's pace again


@pytest.mark.parametrize(
    ("camera", "decodable_by"), [("640028", {"64", "f4"}), ("4d4029", {"4d", "64", "f4"}), ("42e01f", {"42"})]
)
def test_h264_capability_prefers_the_cameras_profile(camera: str, decodable_by: set[str]) -> None:
    h264_capability("64001f")  # as a browser-like client in the same process registers

    capability = h264_capability(camera)

    profiles = [str(codec.parameters["profile-level-id"]) for codec in capability if codec.mimeType == "video/H264"]
    assert profiles[0] == camera
    assert {profile[:2] for profile in profiles} <= decodable_by
    assert capability[-1].mimeType == "video/rtx"


def test_fast_ntp_clock_reads_what_aiortcs_datetime_clock_reads() -> None:
    before = datetime_to_ntp(current_datetime())
    now = ntp_time_now()
    after = datetime_to_ntp(current_datetime())
    # Both are 32.32 fixed point since 1900; datetime has microsecond resolution, time_ns finer.
    one_microsecond = (1 << 32) // 1_000_000 + 1
    assert before - one_microsecond <= now <= after + one_microsecond


async def _answer_extensions(offer: str) -> list[str]:
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("video", direction="sendonly").setCodecPreferences(h264_capability("42e01f"))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        answer = (await pc.createAnswer()).sdp
    finally:
        await pc.close()
    return [line for line in answer.splitlines() if line.startswith("a=extmap:")]


async def test_the_answer_declines_abs_send_time_and_keeps_mid() -> None:
    offer = "\r\n".join(
        [
            *CHROMIUM_SOFTWARE_H264_OFFER.split("\r\n")[:-1],
            "a=extmap:1 urn:ietf:params:rtp-hdrext:toffset",
            "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
            "",
        ]
    )
    assert await _answer_extensions(decline_unused_extensions(offer)) == [
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid"
    ]
    # aiortc alone would answer abs-send-time too.
    assert "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" in await _answer_extensions(offer)
