"""WebRTC on the tests' private loopback.

aioice never offers 127.0.0.1 as a host candidate (a real deployment must not), and the tests' network namespace has
nothing else, so `loopback_ice` makes both aiortc peers (ours and the test client) gather on loopback only.
"""

from __future__ import annotations

import aioice.ice
import pytest


@pytest.fixture
def loopback_ice(monkeypatch: pytest.MonkeyPatch, socket_enabled: None) -> None:
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])
