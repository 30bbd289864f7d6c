"""Home Assistant repair issues for a camera that keeps failing, or that sends what browsers cannot play.

One `CameraIssues` per stream, on the event loop. It turns what the worker learns (`source.problems.SourceProblem`)
into issues in Settings → Repairs, named after the camera, with the fix in the text (strings.json "issues"):

- **Failures** (wrong credentials, camera unreachable, stream path not found) are raised once a camera *keeps*
  failing for the same reason: `FAILED_RUNS` failed runs in a row and `FAILING_FOR` seconds since the first. A camera
  rebooting or a Wi-Fi blip (seconds; the worker retries every second for the first minute) raises nothing; a wrong
  password is raised on its 4th refusal, 30 s after the first (such errors are retried every 10 s). At most one
  failure issue per camera: a different cause replaces it, and a run that delivers media deletes it.
- **Codecs** (H.265, B-frames with WebRTC on) are raised as soon as a run shows them and deleted when a later run shows
  the camera was changed.
- **Lost packets** (RTSP over UDP): counted from FFmpeg's reports (`source.rtp_loss`) per `LOSS_WINDOW`; raised after
  `LOSSY_WINDOWS` windows in a row that each lost at least `LOSS_MIN_PACKETS` packets (a moment of bad Wi-Fi raises
  nothing), deleted after `CLEAN_WINDOWS` windows of streaming without loss (a camera switched to TCP loses none).

Streams of no camera entity (a config flow's preview, a media source's playback: no label, or one outside the camera
domain) are short-lived: their issues go when the stream stops, since nothing would ever delete them otherwise.

The issue id is a stable, non-secret key of the camera (its entity id; for a stream without one, a hash of the
source with its credentials masked) and the cause: never more than one issue per camera and cause. Issues are not
persistent: after a restart, only a camera that still fails raises one again. Nothing in an issue's text comes from
the source but its host (no user, password, path or query).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import PurePath

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from yarl import URL

from .const import DOMAIN
from .redact import redact_credentials
from .source.description import SourceInfo
from .source.problems import CODEC_PROBLEMS, FAILURE_PROBLEMS, SourceProblem, codec_problems

CAMERA_ENTITY_PREFIX = "camera."
FAILED_RUNS = 3
FAILING_FOR = 30.0  # seconds
LOSS_WINDOW = 60.0  # seconds
LOSS_MIN_PACKETS = 10
LOSSY_WINDOWS = 2
CLEAN_WINDOWS = 5

_SEVERITY = {
    SourceProblem.CREDENTIALS: ir.IssueSeverity.ERROR,
    SourceProblem.UNREACHABLE: ir.IssueSeverity.ERROR,
    SourceProblem.NOT_FOUND: ir.IssueSeverity.ERROR,
    SourceProblem.H265: ir.IssueSeverity.WARNING,
    SourceProblem.BFRAMES: ir.IssueSeverity.WARNING,
    SourceProblem.RTP_PACKET_LOSS: ir.IssueSeverity.WARNING,
}


def camera_key(label: str | None, source: str) -> str:
    """A stable key of the camera for issue ids: its label (the camera's entity id), else a hash of the source with
    its credentials masked (the same camera with a new password keeps its key; no secret goes into the id)."""
    if label:
        return label
    return "source_" + hashlib.sha256(redact_credentials(source).encode()).hexdigest()[:16]


def source_host(source: str) -> str:
    """What the issue text says about the source: its host (and port), or a file's name; never credentials."""
    try:
        url = URL(source)
    except ValueError:
        url = None
    if url is not None and url.absolute and url.host:
        return f"{url.host}:{url.explicit_port}" if url.explicit_port else url.host
    return PurePath(source).name or "?"


def issue_id(key: str, problem: SourceProblem) -> str:
    return f"{key}_{problem}"


class CameraIssues:
    """The repair issues of one stream's camera (event loop only)."""

    def __init__(
        self, hass: HomeAssistant, label: str | None, source: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._hass = hass
        self._label = label
        self._key = camera_key(label, source)
        self._source = source
        self._clock = clock
        self._streak: SourceProblem | None = None  # the cause of the failed runs in a row, if they share one
        self._streak_runs = 0
        self._streak_started = 0.0
        self._raised: set[SourceProblem] = set()
        self._lossy_windows = 0
        self._clean_windows = 0

    @property
    def raised(self) -> frozenset[SourceProblem]:
        """The problems this camera has an issue for now."""
        return frozenset(self._raised)

    @callback
    def set_source(self, source: str) -> None:
        """The stream's source changed (update_source): the text names the new host from the next issue on."""
        self._source = source

    @callback
    def run_failed(self, problem: str | None) -> None:
        """A run failed; `problem` is its cause when the user can fix it (a SourceProblem value)."""
        cause = SourceProblem(problem) if problem in FAILURE_PROBLEMS else None
        now = self._clock()
        if cause is None or cause != self._streak:
            self._streak, self._streak_runs, self._streak_started = cause, 0, now
            self._clear(FAILURE_PROBLEMS - {cause} if cause is not None else FAILURE_PROBLEMS)
        if cause is None:
            return
        self._streak_runs += 1
        if self._streak_runs >= FAILED_RUNS and now - self._streak_started >= FAILING_FOR:
            self._raise(cause)

    @callback
    def run_delivered(self) -> None:
        """A run sent media: the camera is back, whatever stopped it before is gone."""
        self._streak, self._streak_runs = None, 0
        self._clear(FAILURE_PROBLEMS)

    @callback
    def source_seen(self, source: SourceInfo, webrtc: bool) -> None:
        """What a run found the camera sends (called again as it learns more, e.g. the frame order)."""
        found, cleared = codec_problems(source, webrtc)
        self._clear(cleared & CODEC_PROBLEMS)
        for problem in found:
            self._raise(problem)

    @callback
    def packets_lost(self, missed: int, streaming: bool) -> None:
        """One LOSS_WINDOW went by: `missed` packets lost in it; `streaming`: the camera delivered throughout."""
        if missed >= LOSS_MIN_PACKETS:
            self._lossy_windows += 1
            self._clean_windows = 0
            if self._lossy_windows >= LOSSY_WINDOWS:
                self._raise(SourceProblem.RTP_PACKET_LOSS)
            return
        self._lossy_windows = 0
        if missed == 0 and streaming:
            self._clean_windows += 1
            if self._clean_windows == CLEAN_WINDOWS:
                self._clear({SourceProblem.RTP_PACKET_LOSS})

    @callback
    def stream_stopped(self) -> None:
        """The stream's worker stopped. A camera entity's issues stay (the camera is as broken as it was); those of a
        stream of no camera entity go with it."""
        if not (self._label or "").startswith(CAMERA_ENTITY_PREFIX):
            self._streak, self._streak_runs = None, 0
            self._clear(set(SourceProblem))

    def _raise(self, problem: SourceProblem) -> None:
        if problem in self._raised:
            return  # created once; a dismissed issue stays dismissed
        self._raised.add(problem)
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id(self._key, problem),
            is_fixable=False,
            is_persistent=False,
            severity=_SEVERITY[problem],
            translation_key=str(problem),
            translation_placeholders={"camera": self._camera_name(), "host": source_host(self._source)},
        )

    def _clear(self, problems: frozenset[SourceProblem] | set[SourceProblem]) -> None:
        # Also the issues this object did not raise: an earlier stream of the same camera did (a camera integration
        # reloaded with new settings creates a new stream), and only this one can see that the camera recovered.
        for problem in problems:
            self._raised.discard(problem)
            ir.async_delete_issue(self._hass, DOMAIN, issue_id(self._key, problem))

    def _camera_name(self) -> str:
        """The camera's name as the user sees it, with its entity id; the host for a stream of no entity."""
        if not self._label:
            return source_host(self._source)
        if (state := self._hass.states.get(self._label)) is not None and state.name != self._label:
            return f"{state.name} ({self._label})"
        return self._label


@callback
def async_track_removed_cameras(hass: HomeAssistant) -> Callable[[], None]:
    """A camera entity removed from Home Assistant takes its issues along (its stream never runs again)."""

    @callback
    def removed(event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        if event.data["action"] == "remove":
            for problem in SourceProblem:
                ir.async_delete_issue(hass, DOMAIN, issue_id(event.data["entity_id"], problem))

    return hass.bus.async_listen(er.EVENT_ENTITY_REGISTRY_UPDATED, removed)
