"""Runs inside the sandbox for scripts/develop: the camera simulator, then Home Assistant, until Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from tests.real_ha import mark_onboarding_done_but_user, write_http_settings, write_storage  # noqa: E402
from tests.simulator import CameraSimulator, CameraSpec  # noqa: E402

CAMERA_PORT = 8554
HA_HOST = "127.0.0.1"
HA_PORT = 8123
HA_URL = f"http://{HA_HOST}:{HA_PORT}"
CONFIG_DIR = PROJECT_DIR / "config"
DEMO_CAMERA = "camera.demo_camera"


def seed_dashboard() -> None:
    """Overview with the demo camera's live card (the overview Home Assistant makes shows no camera), written in the
    default dashboard's storage, which Home Assistant moves into a dashboard of its own at start. Only before the
    first start: afterwards the dashboard is the contributor's."""
    storage = CONFIG_DIR / ".storage"
    if (storage / "lovelace").exists() or (storage / "lovelace_dashboards").exists():
        return
    card = {"type": "picture-entity", "entity": DEMO_CAMERA, "camera_view": "live"}
    write_storage(CONFIG_DIR, "lovelace", 1, 1, {"config": {"views": [{"title": "Demo", "cards": [card]}]}})


def main() -> int:
    camera = CameraSimulator(
        {"demo": CameraSpec(video="h264", audio="aac", width=1280, height=720, fps=30, keyframe_interval=1.0)},
        port=CAMERA_PORT,
    )
    camera.start()
    print(f"Camera simulator: {camera.url('demo')}", flush=True)
    # The HTTP settings live in Home Assistant's storage (see config/configuration.yaml); onboarding asks only for a
    # user (its other steps would add integrations that call out to the internet).
    write_http_settings(CONFIG_DIR, host=HA_HOST, port=HA_PORT)
    mark_onboarding_done_but_user(CONFIG_DIR)
    seed_dashboard()
    hass = subprocess.Popen([sys.executable, "-m", "homeassistant", "--config", str(CONFIG_DIR), "--skip-pip"])
    print(
        f"\nHome Assistant is starting on {HA_URL} (the first start takes a minute).\n"
        "  1. Open it in your browser and create a user (onboarding asks for nothing else).\n"
        "  2. Overview shows 'Demo camera' playing live through this integration (WebRTC); click it for more.\n"
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
