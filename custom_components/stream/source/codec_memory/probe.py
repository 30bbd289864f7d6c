"""A short look at a source (worker-side, blocking): open it, read until its codecs are known, close it.

Ends as soon as the video's parameter sets are seen and, for H.264, enough frames were read to tell whether the
camera sends B-frames; never reads longer than `PROBE_READ_SECONDS`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from ...remux.fmp4.parameter_sets import ParameterSets, VideoCodec, find_parameter_sets
from ..description import FrameOrder, SourceInfo, profile_level_id
from ..tracks import describe_tracks, video_track
from ..worker import open_source

if TYPE_CHECKING:
    from av.container import InputContainer

PROBE_OPEN_TIMEOUT = 10.0  # seconds to open the source (a worker allows more: it has a viewer waiting)
PROBE_READ_TIMEOUT = 5.0
PROBE_READ_SECONDS = 12.0  # long enough to reach the first keyframe of most cameras joined mid-GOP


def probe_source(source: str, options: dict[str, str], stop: threading.Event) -> SourceInfo:
    """What `source` carries; StreamWorkerError when it cannot be opened or has no video we can serve."""
    container = open_source(source, options, timeout=(PROBE_OPEN_TIMEOUT, PROBE_READ_TIMEOUT))
    try:
        return _read_until_known(container, stop)
    finally:
        container.close()


def _read_until_known(container: InputContainer, stop: threading.Event) -> SourceInfo:
    video, codec = video_track(container)
    audio = container.streams.audio[0] if container.streams.audio else None
    video_source, audio_source = describe_tracks(video, codec, audio)
    extradata = video.codec_context.extradata
    sets = _parameter_sets(codec, extradata, None)
    order = FrameOrder()
    deadline = time.monotonic() + PROBE_READ_SECONDS
    for packet in container.demux(video):
        if sets is not None and order.known:
            break
        if stop.is_set() or time.monotonic() > deadline:
            break
        if packet.size == 0:
            continue
        order.add(packet.pts)
        if packet.is_keyframe and sets is None:
            sets = _parameter_sets(codec, extradata, bytes(packet))
    video_source = replace(video_source, profile_level_id=profile_level_id(codec, sets), parameter_sets=sets)
    return SourceInfo(0, video_source, audio_source, reordered=order.reordered, order_known=order.known)


def _parameter_sets(codec: VideoCodec, extradata: bytes | None, keyframe: bytes | None) -> ParameterSets | None:
    """From the extradata, else from a keyframe; None while neither has a complete set (or the keyframe is damaged)."""
    try:
        return find_parameter_sets(codec, extradata, keyframe)
    except ValueError:
        return None
