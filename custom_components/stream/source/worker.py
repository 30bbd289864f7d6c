"""One run of the source (worker thread): open it with PyAV, run the packet loop over it, close it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..const import SOURCE_TIMEOUT
from ..exceptions import StreamClientError, StreamWorkerError
from ..redact import redact_text
from .packet_loop import PacketLoop
from .problems import SourceProblem, unreachable_errno
from .run import WorkerRun

if TYPE_CHECKING:
    import av
    from av.container import InputContainer

# Read timeout once the source is open: a stalled camera is an error after this long.
READ_TIMEOUT = 10.0
# A live RTSP camera sends every frame: 5 s without a packet, it is gone even if its connection stays open (a camera
# that hangs; the RTSP socket timeout never fires then). The read timeout is half that because a camera is given up at
# the second one: at the first, FFmpeg's parser hands out the access unit it was assembling as a packet (measured: a
# hung camera ends the run 2 x the read timeout after its last packet; 10.1 s at 5 s). A camera that goes on after a
# shorter silence keeps its run. Other sources may wait longer between reads (an HLS source, a segment at a time).
LIVE_READ_TIMEOUT = 2.5
_LIVE_SCHEMES = ("rtsp://", "rtsps://")


def open_source(
    source: str, options: dict[str, str], timeout: tuple[float, float] = (SOURCE_TIMEOUT, READ_TIMEOUT)
) -> InputContainer:
    """Open `source`, turning FFmpeg errors into StreamWorkerError with a client error code and no secrets.

    `timeout`: seconds to open, then to wait for each read."""
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


def run_worker(run: WorkerRun) -> None:
    """Demux and remux until the source ends, fails, or `run.quit` is set."""
    read_timeout = LIVE_READ_TIMEOUT if run.source.startswith(_LIVE_SCHEMES) else READ_TIMEOUT
    container = open_source(run.source, run.open_options, (SOURCE_TIMEOUT, read_timeout))
    try:
        PacketLoop(container, run).run()
    finally:
        container.close()
