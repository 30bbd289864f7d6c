"""Runs inside the sandbox for scripts/develop: the camera simulator, then Home Assistant, until Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from tests.simulator import CameraSimulator, CameraSpec  # noqa: E402

CAMERA_PORT = 8554
HA_URL = "http://127.0.0.1:8123"


def main() -> int:
    camera = CameraSimulator(
        {"demo": CameraSpec(video="h264", audio="aac", width=1280, height=720, fps=30, keyframe_interval=1.0)},
        port=CAMERA_PORT,
    )
    camera.start()
    print(f"Camera simulator: {camera.url('demo')}", flush=True)
    hass = subprocess.Popen(
        [sys.executable, "-m", "homeassistant", "--config", str(PROJECT_DIR / "config"), "--skip-pip"]
    )
    print(
        f"\nHome Assistant is starting on {HA_URL} (the first start takes a minute).\n"
        "  1. Open it in your browser and create a user (onboarding).\n"
        "  2. Overview shows 'Demo camera': click it to watch the live stream through this integration.\n"
        "Press Ctrl-C to stop Home Assistant and the camera.\n",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: hass.terminate())
    try:
        return hass.wait()
    except KeyboardInterrupt:
        hass.terminate()
        return hass.wait()
    finally:
        camera.stop()


if __name__ == "__main__":
    raise SystemExit(main())
