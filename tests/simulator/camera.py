"""The RTSP server itself (gst-rtsp-server): one shared media factory per mount, optional basic auth.

Runs in the simulator's own process (see `__main__`); `CameraSimulator` drives that process from tests.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, GLibUnix, Gst, GstRtspServer  # noqa: E402  (versions must be chosen first)

from .feeder import FrameFeeder  # noqa: E402
from .pipeline import AAC_ENCODERS, AUDIO_SOURCE_NAME, VIDEO_SOURCE_NAME, launch_description  # noqa: E402
from .spec import CameraSpec  # noqa: E402

_LOGGER = logging.getLogger(__name__)
LISTEN_ADDRESS = "127.0.0.1"
_ROLE = "camera-user"


class BindError(Exception):
    """The server could not listen on its port."""


class CameraServer:
    """Serves `mounts` (path → spec) on 127.0.0.1; `attach()` starts listening, `run()` serves until `quit()`."""

    def __init__(
        self,
        mounts: Mapping[str, CameraSpec],
        *,
        port: int = 0,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        Gst.init(None)
        self._loop = GLib.MainLoop()
        self._feeders: set[FrameFeeder] = set()
        self._medias: set[Any] = set()
        self._server = GstRtspServer.RTSPServer()
        self._server.set_address(LISTEN_ADDRESS)
        self._server.set_service(str(port))
        aac_encoder = next((name for name in AAC_ENCODERS if Gst.ElementFactory.find(name)), AAC_ENCODERS[0])
        mount_points = self._server.get_mount_points()
        for path, spec in mounts.items():
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(launch_description(path, spec, aac_encoder=aac_encoder))
            factory.set_shared(True)  # one encoder for every client of the mount, like a real camera
            factory.connect("media-configure", self._on_media_configure, path, spec)
            if username is not None:
                factory.set_permissions(_permissions())
            mount_points.add_factory(path, factory)
        if username is not None:
            self._server.set_auth(_basic_auth(username, password or ""))

    def attach(self) -> int:
        """Listen; return the bound port or raise `BindError` with the reason."""
        try:
            source = self._server.create_source(None)
        except GLib.Error as error:
            raise BindError(error.message) from None
        if not source.attach(None):
            raise BindError(f"could not attach the server on {LISTEN_ADDRESS}:{self._server.get_service()}")
        port: int = self._server.get_bound_port()
        return port

    def run(self) -> None:
        """Serve until `quit()`; then stop every feeder."""
        try:
            self._loop.run()
        finally:
            for feeder in list(self._feeders):
                feeder.stop()

    def quit(self) -> None:
        """Make `run()` return; safe from any thread."""
        GLib.idle_add(self._quit_in_loop)

    def quit_on_signals(self) -> None:
        """SIGTERM and SIGINT make `run()` return (a clean exit)."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            GLibUnix.signal_add(GLib.PRIORITY_HIGH, signum, self._quit_on_signal)

    def quit_when_stdin_closes(self) -> None:
        """End of stdin makes `run()` return: a parent holding our stdin open died without stopping us."""
        threading.Thread(target=self._quit_after_stdin, name="stdin watch", daemon=True).start()

    def _quit_on_signal(self) -> bool:
        self.quit()
        return GLib.SOURCE_REMOVE  # type: ignore[no-any-return]

    def _quit_after_stdin(self) -> None:
        # The raw descriptor, not sys.stdin: a daemon thread blocked in a buffered read aborts interpreter exit.
        while os.read(sys.stdin.fileno(), 4096):
            pass
        self.quit()

    def _quit_in_loop(self) -> bool:
        # Drop clients and stop every pipeline while the loop still runs, so nothing streams during interpreter exit.
        self._server.client_filter(lambda _server, _client: GstRtspServer.RTSPFilterResult.REMOVE)
        for media in list(self._medias):
            media.unprepare()
        self._loop.quit()
        return GLib.SOURCE_REMOVE  # type: ignore[no-any-return]

    def _on_media_configure(self, _factory: Any, media: Any, path: str, spec: CameraSpec) -> None:
        element = media.get_element()
        for index in range(media.n_streams()):
            payloader = element.get_by_name(f"pay{index}")
            payloader.get_static_pad("src").add_probe(Gst.PadProbeType.QUERY_UPSTREAM, _refuse_seeking)
        appsrc = element.get_by_name(VIDEO_SOURCE_NAME)
        feeder = FrameFeeder(appsrc, spec, Gst, path, audio_source=element.get_by_name(AUDIO_SOURCE_NAME))
        self._feeders.add(feeder)
        self._medias.add(media)
        media.connect("unprepared", self._on_media_unprepared, feeder, path)
        feeder.start()
        _LOGGER.info("media for %s configured", path)

    def _on_media_unprepared(self, media: Any, feeder: FrameFeeder, path: str) -> None:
        feeder.stop()
        self._feeders.discard(feeder)
        self._medias.discard(media)
        _LOGGER.info("media for %s unprepared", path)


def _refuse_seeking(_pad: Any, info: Any) -> Any:
    """Answer "not seekable" for a live camera's stream.

    The audio test source claims it can seek, so a PLAY with a Range (FFmpeg sends `npt=0.000-`) would make the server
    seek the shared pipeline, which the appsrc refuses: PLAY would fail with 503. A dropped query reads as unseekable.
    """
    query = info.get_query()
    if query is not None and query.type == Gst.QueryType.SEEKING:
        return Gst.PadProbeReturn.DROP
    return Gst.PadProbeReturn.OK


def _basic_auth(username: str, password: str) -> Any:
    token = GstRtspServer.RTSPToken.new()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, _ROLE)
    auth = GstRtspServer.RTSPAuth()
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(username, password), token)
    return auth


def _permissions() -> Any:
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role(_ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
    permissions.add_permission_for_role(_ROLE, GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
    return permissions
