"""What the HLS views need from a stream and its output: the lead's `Stream` satisfies these structurally."""

from __future__ import annotations

from typing import Protocol

from ...remux.media import MediaBuffer
from ...settings import StreamSettings


class OrientationSettings(Protocol):
    """The camera preferences the views read (HA's `DynamicStreamSettings` fits)."""

    @property
    def orientation(self) -> int: ...


class HlsOutput(Protocol):
    """The `hls` output of a stream: the shared media buffer plus its idle timer."""

    @property
    def buffer(self) -> MediaBuffer: ...

    @property
    def stream_settings(self) -> StreamSettings: ...

    @property
    def dynamic_stream_settings(self) -> OrientationSettings: ...

    @property
    def idle(self) -> bool: ...

    def awake(self) -> None:
        """A client asked for media: restart the idle countdown."""

    def saw_client(self, client: str, /) -> None:
        """A request from `client`: it counts as a viewer for a while (diagnostics)."""


class HlsStream(Protocol):
    """A camera stream as the views see it; the URL token selects it."""

    @property
    def access_token(self) -> str | None: ...

    def add_provider(self, fmt: str, /) -> HlsOutput:
        """The output for `fmt`, recreated if it expired."""

    async def start(self) -> None:
        """Start the worker unless it runs (idempotent)."""
