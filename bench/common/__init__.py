"""The benchmarks' harness, so that each script in bench/ says only what it measures.

- `hass`: Home Assistant in the bench's own process, with our `stream` or the built-in; streams stopped with their
  worker thread joined; Home Assistant's ffmpeg camera and a user's token for websocket clients.
- `real_ha`: Home Assistant in a process of its own (tests/real_ha.py) started afresh for every run: a new config
  dir seeded with storage files, a local STUN server, what its `stream` logged.
- `logs`: logging set up for a benchmark; the integrations' warnings and errors kept for the report.
- `cameras`: camera sources: the RTSP simulator, test files encoded once (bench/.cache), a file served in real
  time like a camera, a background viewer that keeps a camera's encoder running and counts its frames.
- `browser`: headless Chromium pages of the bench's size; hls.js present.
- `processes`: child processes driven with JSON lines (commands on stdin, marked events on stdout).
- `proc`: what /proc says: CPU time of threads and processes, peak RSS, UDP drops, listening sockets.
- `stats`: median, percentiles, the worst run, samples pooled over runs, a least-squares slope.
- `report`: numbers as text, the report's head, tables and warnings, the result file.

The scripts put the project directory first on sys.path before importing this package, so that `custom_components`
is ours and not the empty package pytest-homeassistant ships.
"""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
