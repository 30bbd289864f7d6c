"""Browsers' mDNS answers parse on the event loop without importing anything (Home Assistant flags such imports)."""

from __future__ import annotations

import ipaddress
import struct

import dns.message
import dns.rdata
import pytest

import custom_components.stream.outputs.webrtc  # noqa: F401  (importing it loads the record types)
from custom_components.stream.outputs.webrtc.mdns import MDNS_CLASSES

NAME = "4f1c9a2e-0b7d.local"


def _answer(rdclass: int, address: str) -> bytes:
    """An mDNS response with one address record, written byte by byte (dnspython would load the type building it)."""
    packed = ipaddress.ip_address(address).packed
    rdtype = 1 if len(packed) == 4 else 28
    header = struct.pack("!HHHHHH", 0, 0x8400, 0, 1, 0, 0)
    name = b"".join(bytes([len(label)]) + label.encode() for label in NAME.split(".")) + b"\x00"
    return header + name + struct.pack("!HHIH", rdtype, rdclass, 120, len(packed)) + packed


def _refuse_import(name: str, package: str | None = None) -> None:
    raise AssertionError(f"dnspython imported {name} while parsing")


@pytest.mark.parametrize("rdclass", [int(rdclass) for rdclass in MDNS_CLASSES])
@pytest.mark.parametrize("address", ["192.0.2.7", "fd00::7"])
def test_a_browsers_mdns_answer_parses_without_an_import(
    monkeypatch: pytest.MonkeyPatch, rdclass: int, address: str
) -> None:
    monkeypatch.setattr(dns.rdata, "import_module", _refuse_import)
    parsed = dns.message.from_wire(_answer(rdclass, address))
    # With the cache-flush class dnspython keeps the record generic (as it would have after importing); aioice reads
    # the address from its bytes either way.
    assert parsed.answer[0][0].to_wire() == ipaddress.ip_address(address).packed
