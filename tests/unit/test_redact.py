"""Credentials are masked in URLs and error texts."""

from __future__ import annotations

import pytest

from custom_components.stream.redact import redact_credentials, redact_text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rtsp://user:pa55@127.0.0.1:8554/cam", "rtsp://****:****@127.0.0.1:8554/cam"),
        ("rtsp://user@127.0.0.1/cam", "rtsp://****@127.0.0.1/cam"),
        (
            "http://cam.local/video?user=admin&password=pa55&res=hd",
            "http://cam.local/video?user=****&password=****&res=hd",
        ),
        ("rtsp://127.0.0.1:8554/cam", "rtsp://127.0.0.1:8554/cam"),
        ("/media/clip.mp4", "/media/clip.mp4"),
    ],
)
def test_redact_credentials(url: str, expected: str) -> None:
    assert redact_credentials(url) == expected


def test_redact_text_masks_source_and_password() -> None:
    source = "rtsp://user:pa55@127.0.0.1:8554/cam"
    text = f"Connection refused: {source} (password pa55)"
    redacted = redact_text(text, source)
    assert "pa55" not in redacted
    assert "rtsp://****:****@127.0.0.1:8554/cam" in redacted
