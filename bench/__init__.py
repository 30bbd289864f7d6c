"""Benchmarks: scripts that measure the integration against Home Assistant's built-in `stream` (not tests)."""
