"""The camera simulator's command line: `python -m tests.simulator --mount demo:video=h264,audio=aac` (scripts/camera).

Prints one JSON line on stdout when listening (`{"event": "ready", "port": ..., "mounts": [...], "urls": [...]}`),
or `{"event": "error", "message": ...}` and exits 1 when it cannot listen. SIGTERM/SIGINT stop it with exit status 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence

from .spec import CameraSpec, format_value, normalize_mount, parse_spec
from .urls import camera_url

EXIT_BIND_FAILED = 1
DEFAULT_MOUNT = "camera"


def _mount_argument(text: str) -> tuple[str, CameraSpec]:
    name, _, spec = text.partition(":")
    try:
        return normalize_mount(name), parse_spec(spec)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _parser() -> argparse.ArgumentParser:
    fields = ", ".join(f"{field.name}={format_value(field.default)}" for field in dataclasses.fields(CameraSpec))
    parser = argparse.ArgumentParser(
        prog="scripts/camera",
        description="A live RTSP test camera on 127.0.0.1 (test pattern with a running clock and a timecode band).",
        epilog=(
            f"Mount spec keys and defaults: {fields}. "
            "video: h264|h265; profile (H.264 only): constrained-baseline|main|high; "
            "audio: aac|pcmu|pcma|opus|none; keyframe_interval in seconds; bitrate in kbit/s; "
            "sync=1: a 1 kHz tone burst every second that starts with a white strip in that frame (A/V sync marker). "
            "Example: scripts/camera --port 8554 --mount demo:video=h264,audio=aac,width=1280,height=720"
        ),
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument(
        "--mount",
        dest="mounts",
        action="append",
        type=_mount_argument,
        metavar="NAME:KEY=VALUE,...",
        help=f"a mount and its stream; repeatable (default: one mount '{DEFAULT_MOUNT}' with default settings)",
    )
    parser.add_argument("--username", help="require RTSP basic auth with this username")
    parser.add_argument("--password", help="password for --username")
    parser.add_argument("--exit-with-stdin", action="store_true", help="exit when stdin closes (used by tests)")
    parser.add_argument("--verbose", action="store_true", help="log media start/stop on stderr")
    return parser


def _emit(event: dict[str, object]) -> None:
    print(json.dumps(event), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.username is None) != (args.password is None):
        parser.error("--username and --password go together")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="camera: %(message)s")
    mounts = dict(args.mounts or [_mount_argument(f"{DEFAULT_MOUNT}:")])

    # GStreamer is loaded only now, so --help and argument errors are fast.
    from .camera import BindError, CameraServer

    server = CameraServer(mounts, port=args.port, username=args.username, password=args.password)
    try:
        port = server.attach()
    except BindError as error:
        message = f"cannot listen on 127.0.0.1:{args.port}: {error}"
        _emit({"event": "error", "message": message})
        print(f"camera: {message}", file=sys.stderr)
        return EXIT_BIND_FAILED

    server.quit_on_signals()
    if args.exit_with_stdin:
        server.quit_when_stdin_closes()
    urls = [camera_url(port, path, username=args.username, password=args.password) for path in mounts]
    _emit({"event": "ready", "port": port, "mounts": list(mounts), "urls": urls})
    server.run()
    _emit({"event": "stopped"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
