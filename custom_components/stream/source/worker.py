"""One run of the source (worker thread): open it with PyAV, run the packet loop over it, close it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..const import SOURCE_TIMEOUT
from ..exceptions import StreamClientError, StreamWorkerError
from ..redact import redact_text
from .options import RTSP_SOCKET_TIMEOUT_US
from .packet_loop import PacketLoop
from .problems import SourceProblem, unreachable_errno
from .run import WorkerRun

if TYPE_CHECKING:
    import av
    from av.container import InputContainer

# Read timeout once the source is open, for sources other than RTSP: a stalled source is an error after this long.
READ_TIMEOUT = 10.0
# A live RTSP camera sends every frame: this long without a packet, it is gone even if its connection stays open (a
# camera that hangs). RTSP reads are bounded by FFmpeg's own socket timeout (`RTSP_SOCKET_TIMEOUT_US`, as long as
# this), not by PyAV's read timeout: PyAV's takes the GIL for every interrupt check FFmpeg makes, several per RTP
# packet (measured with 8 cameras demuxed: 26 % more context switches, 14 % more CPU). At the socket timeout
# FFmpeg's parser hands out the access unit it was assembling; the packet loop ends the run there (`silence_limit`)
# instead of waiting for a second timeout.
LIVE_SILENCE_LIMIT = RTSP_SOCKET_TIMEOUT_US / 1_000_000
_LIVE_SCHEMES = ("rtsp://", "rtsps://")


def open_source(
    source: str, options: dict[str, str], timeout: tuple[float, float | None] = (SOURCE_TIMEOUT, READ_TIMEOUT)
) -> InputContainer:
    """Open `source`, turning FFmpeg errors into StreamWorkerError with a client error code and no secrets.

    `timeout`: seconds to open, then to wait for each read (None: no limit from PyAV)."""
    import av  # imported here: loading FFmpeg is slow and only the worker needs it

    try:
        return av.open(source, options=options, timeout=timeout)
    except av.HTTPBadRequestError as err:
        raise _open_error("Bad Request Error opening stream", err, source, StreamClientError.BadRequest) from None
    except av.HTTPUnauthorizedError as err:
        raise _open_error(
            "Unauthorized error opening stream", err, source, StreamClientError.Unauthorized, SourceProblem.CREDENTIALS
        ) from None
    except av.HTTPForbiddenError as err:
        raise _open_error(
            "Forbidden error opening stream", err, source, StreamClientError.Forbidden, SourceProblem.CREDENTIALS
        ) from None
    except av.HTTPNotFoundError as err:
        raise _open_error(
            "Not Found error opening stream", err, source, StreamClientError.NotFound, SourceProblem.NOT_FOUND
        ) from None
    except av.FFmpegError as err:
        # ExitError: the open timeout interrupted FFmpeg before the camera answered.
        unreachable = isinstance(err, av.error.ExitError) or unreachable_errno(err.errno)
        problem = SourceProblem.UNREACHABLE if unreachable else None
        raise _open_error("Error opening stream", err, source, StreamClientError.Other, problem) from None


def _open_error(
    prefix: str,
    err: av.FFmpegError,
    source: str,
    code: StreamClientError,
    problem: SourceProblem | None = None,
) -> StreamWorkerError:
    return StreamWorkerError(f"{prefix} ({redact_text(str(err.strerror or err), source)})", code, problem)


def is_live_camera(source: str) -> bool:
    """An RTSP camera: its reads are bounded by the socket timeout and its silence by `LIVE_SILENCE_LIMIT`."""
    return source.startswith(_LIVE_SCHEMES)


def worker_timeouts(source: str) -> tuple[float, float | None]:
    """(open, read) timeouts of PyAV for the worker's `source`: no read timeout for an RTSP camera (see above)."""
    return SOURCE_TIMEOUT, None if is_live_camera(source) else READ_TIMEOUT


def run_worker(run: WorkerRun) -> None:
    """Demux and remux until the source ends, fails, or `run.quit` is set."""
    container = open_source(run.source, run.open_options, worker_timeouts(run.source))
    silence_limit = LIVE_SILENCE_LIMIT if is_live_camera(run.source) else None
    try:
        PacketLoop(container, run, silence_limit=silence_limit).run()
    finally:
        container.close()
