"""Repair issues for a camera that keeps failing or sends what browsers cannot play (issues.CameraIssues), against
Home Assistant's real issue registry; and how a failed open maps to a cause (source.worker.open_source)."""

from __future__ import annotations

import errno
import json
import socket
import string
import threading
from dataclasses import replace
from pathlib import Path

import av.logging
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers import translation
from homeassistant.setup import async_setup_component

from custom_components.stream.const import DOMAIN
from custom_components.stream.exceptions import StreamWorkerError
from custom_components.stream.issues import (
    CLEAN_WINDOWS,
    FAILED_RUNS,
    FAILING_FOR,
    LOSS_MIN_PACKETS,
    LOSSY_WINDOWS,
    CameraIssues,
    async_track_removed_cameras,
    camera_key,
    source_host,
)
from custom_components.stream.source.description import SourceInfo, VideoSource
from custom_components.stream.source.problems import SourceProblem, codec_problems, unreachable_errno
from custom_components.stream.source.rtp_loss import RTP_LOSS
from custom_components.stream.source.worker import open_source

SOURCE = "rtsp://admin:s3cret-pw@192.168.1.20:554/Streaming/Channels/101?token=t0ken"
SECRETS = ("admin", "s3cret-pw", "t0ken", "Streaming")
LABEL = "camera.front_door"
STRINGS = Path(__file__).resolve().parent.parent / "custom_components" / "stream" / "strings.json"
H264 = SourceInfo(run=1, video=VideoSource("h264", 640, 360, "640028"), audio=None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _ours(registry: ir.IssueRegistry) -> dict[str, ir.IssueEntry]:
    return {issue_id: issue for (domain, issue_id), issue in registry.issues.items() if domain == DOMAIN}


def _fail(issues: CameraIssues, clock: Clock, problem: SourceProblem | None, times: int, every: float) -> None:
    for _ in range(times):
        issues.run_failed(problem)
        clock.now += every


async def test_failure_raised_once_after_it_keeps_failing(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    clock = Clock()
    issues = CameraIssues(hass, LABEL, SOURCE, clock)
    # A camera rebooting: refused every second for 20 s, then back. Nothing raised.
    _fail(issues, clock, SourceProblem.UNREACHABLE, 20, 1.0)
    issues.run_delivered()
    assert _ours(issue_registry) == {}
    # A wrong password, retried every 10 s: 3 refusals in 20 s raise nothing, the 4th (30 s after the first) does.
    assert (FAILED_RUNS, FAILING_FOR) == (3, 30.0)
    _fail(issues, clock, SourceProblem.CREDENTIALS, 3, 10.0)
    assert _ours(issue_registry) == {}
    issues.run_failed(SourceProblem.CREDENTIALS)
    issue = _ours(issue_registry)[f"{LABEL}_camera_credentials"]
    assert issue.severity == ir.IssueSeverity.ERROR
    assert issue.translation_key == "camera_credentials"
    assert not issue.is_fixable
    assert not issue.is_persistent
    assert issue.translation_placeholders == {"camera": LABEL, "host": "192.168.1.20:554"}
    # The user dismisses it; the camera keeps failing: it is not created again (stays dismissed), nor duplicated.
    ir.async_ignore_issue(hass, DOMAIN, f"{LABEL}_camera_credentials", True)
    _fail(issues, clock, SourceProblem.CREDENTIALS, 10, 10.0)
    assert list(_ours(issue_registry)) == [f"{LABEL}_camera_credentials"]
    assert _ours(issue_registry)[f"{LABEL}_camera_credentials"].dismissed_version is not None
    # The camera is back: the issue goes by itself.
    issues.run_delivered()
    assert _ours(issue_registry) == {}
    assert issues.raised == frozenset()


async def test_a_new_stream_of_the_camera_clears_the_old_streams_issue(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    """A camera integration reloaded with the right password creates a new stream; its first good run clears the
    issue the old stream raised."""
    clock = Clock()
    _fail(CameraIssues(hass, LABEL, SOURCE, clock), clock, SourceProblem.CREDENTIALS, 4, 10.0)
    hevc = replace(H264, video=VideoSource("hevc", 320, 240, None))
    CameraIssues(hass, LABEL, SOURCE, clock).source_seen(hevc, webrtc=True)
    assert set(_ours(issue_registry)) == {f"{LABEL}_camera_credentials", f"{LABEL}_camera_h265"}
    new = CameraIssues(hass, LABEL, SOURCE, clock)
    new.run_delivered()
    new.source_seen(H264, webrtc=True)
    assert _ours(issue_registry) == {}


async def test_issues_of_a_stream_of_no_camera_go_when_it_stops(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    """A config flow's preview (labelled outside the camera domain) or an unlabelled stream: nothing would delete
    their issues later. A camera entity's issue stays: the camera is as broken as it was."""
    clock = Clock()
    streams = [CameraIssues(hass, label, SOURCE, clock) for label in (LABEL, "generic.test_stream", None)]
    for issues in streams:
        _fail(issues, clock, SourceProblem.CREDENTIALS, 4, 10.0)
    assert len(_ours(issue_registry)) == 3
    for issues in streams:
        issues.stream_stopped()
    assert list(_ours(issue_registry)) == [f"{LABEL}_camera_credentials"]


async def test_a_new_cause_replaces_the_old_one(hass: HomeAssistant, issue_registry: ir.IssueRegistry) -> None:
    clock = Clock()
    issues = CameraIssues(hass, LABEL, SOURCE, clock)
    _fail(issues, clock, SourceProblem.UNREACHABLE, 40, 1.0)
    assert list(_ours(issue_registry)) == [f"{LABEL}_camera_unreachable"]
    # The camera answers again but the path is wrong: the old issue goes at once, the new one once it keeps failing.
    _fail(issues, clock, SourceProblem.NOT_FOUND, 1, 10.0)
    assert _ours(issue_registry) == {}
    _fail(issues, clock, SourceProblem.NOT_FOUND, 4, 10.0)
    assert list(_ours(issue_registry)) == [f"{LABEL}_camera_path_not_found"]
    # A failure nobody can name (the camera stopped sending) also ends the streak and the issue.
    _fail(issues, clock, None, 1, 1.0)
    assert _ours(issue_registry) == {}


async def test_codec_issues_follow_what_the_camera_sends(hass: HomeAssistant, issue_registry: ir.IssueRegistry) -> None:
    issues = CameraIssues(hass, LABEL, SOURCE, Clock())
    hevc = replace(H264, video=VideoSource("hevc", 320, 240, None))
    issues.source_seen(hevc, webrtc=True)
    issues.source_seen(hevc, webrtc=True)
    issue = _ours(issue_registry)[f"{LABEL}_camera_h265"]
    assert issue.severity == ir.IssueSeverity.WARNING
    # H.265 with B-frames: WebRTC (which carries H.265 to browsers that decode it) is not offered either.
    issues.source_seen(replace(hevc, reordered=True, order_known=True), webrtc=True)
    assert set(_ours(issue_registry)) == {f"{LABEL}_camera_h265", f"{LABEL}_camera_bframes"}
    issues.source_seen(replace(hevc, order_known=True), webrtc=True)  # B-frames turned off
    assert set(_ours(issue_registry)) == {f"{LABEL}_camera_h265"}
    # Switched to H.264 with B-frames: the H.265 issue goes, the B-frame one comes once the frame order is known.
    issues.source_seen(H264, webrtc=True)
    assert _ours(issue_registry) == {}
    issues.source_seen(replace(H264, reordered=True, order_known=True), webrtc=True)
    assert list(_ours(issue_registry)) == [f"{LABEL}_camera_bframes"]
    issues.source_seen(replace(H264, order_known=True), webrtc=True)
    assert _ours(issue_registry) == {}
    # Without our WebRTC, B-frames harm nobody.
    issues.source_seen(replace(H264, reordered=True, order_known=True), webrtc=False)
    assert _ours(issue_registry) == {}


async def test_issue_names_the_camera_never_its_credentials(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    hass.states.async_set(LABEL, "idle", {"friendly_name": "Front door"})
    clock = Clock()
    labelled = CameraIssues(hass, LABEL, SOURCE, clock)
    unlabelled = CameraIssues(hass, None, SOURCE, clock)
    for issues in (labelled, unlabelled):
        _fail(issues, clock, SourceProblem.CREDENTIALS, 4, 10.0)
    found = _ours(issue_registry)
    assert found[f"{LABEL}_camera_credentials"].translation_placeholders == {
        "camera": "Front door (camera.front_door)",
        "host": "192.168.1.20:554",
    }
    key = camera_key(None, SOURCE)
    assert found[f"{key}_camera_credentials"].translation_placeholders == {
        "camera": "192.168.1.20:554",
        "host": "192.168.1.20:554",
    }
    # The key of a stream without a label is stable across password changes and holds no secret.
    assert key == camera_key(None, SOURCE.replace("s3cret-pw", "other"))
    for issue_id, issue in found.items():
        text = issue_id + json.dumps(issue.translation_placeholders)
        assert not any(secret in text for secret in SECRETS)


async def test_removed_camera_takes_its_issues(hass: HomeAssistant, issue_registry: ir.IssueRegistry) -> None:
    entities = er.async_get(hass)
    entry = entities.async_get_or_create("camera", "demo", "front", suggested_object_id="front_door")
    assert entry.entity_id == LABEL
    async_track_removed_cameras(hass)
    issues = CameraIssues(hass, LABEL, SOURCE, Clock())
    issues.source_seen(replace(H264, video=VideoSource("hevc", 320, 240, None)), webrtc=True)
    assert _ours(issue_registry)
    entities.async_remove(LABEL)
    await hass.async_block_till_done()
    assert _ours(issue_registry) == {}


async def test_lost_packets_raise_an_issue_until_the_camera_streams_clean(
    hass: HomeAssistant, issue_registry: ir.IssueRegistry
) -> None:
    issues = CameraIssues(hass, LABEL, SOURCE, Clock())
    assert (LOSS_MIN_PACKETS, LOSSY_WINDOWS, CLEAN_WINDOWS) == (10, 2, 5)
    issues.packets_lost(50, streaming=True)
    issues.packets_lost(9, streaming=True)  # a few lost: not "keeps losing"
    issues.packets_lost(50, streaming=True)
    assert _ours(issue_registry) == {}
    issues.packets_lost(10, streaming=True)
    issue = _ours(issue_registry)[f"{LABEL}_camera_rtp_packet_loss"]
    assert issue.severity == ir.IssueSeverity.WARNING
    for _ in range(4):
        issues.packets_lost(0, streaming=True)
    issues.packets_lost(0, streaming=False)  # a window the camera was down proves nothing
    assert list(_ours(issue_registry)) == [f"{LABEL}_camera_rtp_packet_loss"]
    issues.packets_lost(0, streaming=True)
    assert _ours(issue_registry) == {}


async def test_ffmpeg_reports_of_lost_packets_are_counted_per_worker_thread(hass: HomeAssistant) -> None:
    """Through PyAV's real log path: FFmpeg's warning on a watched thread counts (also folded repeats), at any level
    of the stream logger; other threads' reports do not."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    counted: list[int] = []

    def worker() -> None:
        ident = RTP_LOSS.watch()
        for _ in range(3):  # PyAV folds these: "RTP: missed 3 packets (repeated 2 more times)" on the next message
            av.logging.log(av.logging.WARNING, "rtsp", "RTP: missed 3 packets")
        av.logging.log(av.logging.WARNING, "rtsp", "max delay reached. need to consume packet")
        av.logging.log(av.logging.WARNING, "rtsp", "RTP: missed 4 packets")
        counted.append(RTP_LOSS.take(ident))
        counted.append(RTP_LOSS.take(ident))
        RTP_LOSS.unwatch(ident)

    def bystander() -> None:
        av.logging.log(av.logging.WARNING, "rtsp", "RTP: missed 100 packets")

    for target in (worker, bystander):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    assert counted == [3 + 3 * 2 + 4, 0]


async def test_home_assistant_shows_the_issue_text(hass: HomeAssistant, issue_registry: ir.IssueRegistry) -> None:
    """Home Assistant's own translation loader finds each issue's text in translations/en.json, and the placeholders
    the issue carries fill it (what Settings → Repairs shows)."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    hass.states.async_set(LABEL, "idle", {"friendly_name": "Front door"})
    clock = Clock()
    issues = CameraIssues(hass, LABEL, SOURCE, clock)
    _fail(issues, clock, SourceProblem.UNREACHABLE, 40, 1.0)
    issue = _ours(issue_registry)[f"{LABEL}_camera_unreachable"]
    texts = await translation.async_get_translations(hass, "en", "issues", [DOMAIN])
    prefix = f"component.{DOMAIN}.issues.{issue.translation_key}"
    placeholders = issue.translation_placeholders or {}
    title = texts[f"{prefix}.title"].format(**placeholders)
    description = texts[f"{prefix}.description"].format(**placeholders)
    assert title == "Front door (camera.front_door): the camera cannot be reached"
    assert "connect to 192.168.1.20:554 for Front door (camera.front_door)" in description
    assert not any(secret in title + description for secret in SECRETS)


def test_every_problem_has_translated_text_with_its_placeholders() -> None:
    issues = json.loads(STRINGS.read_text(encoding="utf-8"))["issues"]
    assert set(issues) == {str(problem) for problem in SourceProblem}
    for text in issues.values():
        assert set(text) == {"title", "description"}
        fields = {field for value in text.values() for _, field, _, _ in string.Formatter().parse(value) if field}
        assert fields <= {"camera", "host"}
        assert "{camera}" in text["description"]


def test_source_host_is_all_the_text_says_of_the_source() -> None:
    assert source_host(SOURCE) == "192.168.1.20:554"
    assert source_host("http://user:pw@cam.local/snap?password=x") == "cam.local"
    assert source_host("/media/cameras/garden.mp4") == "garden.mp4"


def test_open_errors_map_to_causes() -> None:
    assert unreachable_errno(errno.ECONNREFUSED)
    assert unreachable_errno(errno.EHOSTUNREACH)
    assert unreachable_errno(errno.ETIMEDOUT)
    assert not unreachable_errno(errno.ENOENT)
    assert not unreachable_errno(None)
    found, cleared = codec_problems(H264, webrtc=True)
    assert (found, cleared) == (set(), {SourceProblem.H265})  # frame order not known yet: B-frames undecided


@pytest.mark.usefixtures("socket_enabled")
def test_refused_connection_is_unreachable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StreamWorkerError) as refused:
        open_source(f"rtsp://user:pw@127.0.0.1:{port}/cam", {"rtsp_flags": "prefer_tcp"})
    assert refused.value.problem == SourceProblem.UNREACHABLE
    assert "pw" not in str(refused.value)
    with pytest.raises(StreamWorkerError) as missing:
        open_source(str(tmp_path / "missing.mp4"), {})
    assert missing.value.problem is None  # a missing file is not a camera the user can fix in the camera
