"""The repository carries Home Assistant's license, the Apache License 2.0, in full."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License\n                           Version 2.0, January 2004")
    sections = ("1. Definitions.", "2. Grant of Copyright License.", "9. Accepting Warranty or Additional Liability.")
    for section in sections:
        assert section in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert "`LICENSE`" in (ROOT / "README.md").read_text(encoding="utf-8")
