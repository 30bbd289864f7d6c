"""RTSP URLs of the simulator's mounts."""

from __future__ import annotations

from urllib.parse import quote

from .spec import normalize_mount

HOST = "127.0.0.1"


def camera_url(port: int, mount: str, *, username: str | None = None, password: str | None = None) -> str:
    """`rtsp://[user:pass@]127.0.0.1:PORT/mount`, credentials percent-encoded."""
    userinfo = ""
    if username is not None:
        userinfo = quote(username, safe="")
        if password is not None:
            userinfo += ":" + quote(password, safe="")
        userinfo += "@"
    return f"rtsp://{userinfo}{HOST}:{port}{normalize_mount(mount)}"
