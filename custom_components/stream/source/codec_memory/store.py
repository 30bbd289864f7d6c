"""The sources' codecs kept in Home Assistant's storage (`.storage/stream.known_sources`).

Entries are keyed by an HMAC of the source URL with a random key of this installation, so neither the URL nor a
credential in it reaches the file, and the same URL hashes differently elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store

from ..description import SourceInfo
from .record import decision, from_json, to_json

_LOGGER = logging.getLogger(__name__)

STORAGE_KEY = "stream.known_sources"
STORAGE_VERSION = 1
MAX_SOURCES = 256  # the least recently seen are forgotten beyond this
SAVE_DELAY = 10.0  # seconds: several cameras learned at start-up make one write
RESEEN_AFTER = 86400.0  # an unchanged source's "seen" time is written again at most daily

type SourceListener = Callable[[str], None]


def source_key(hash_key: bytes, source: str) -> str:
    """The storage key of `source`: an HMAC under this installation's key, so the URL cannot be read back."""
    return hmac.new(hash_key, source.encode(), hashlib.sha256).hexdigest()


class CodecMemory:
    """Event loop only. `get` answers from memory; `remember` updates it and tells listeners of changes."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY, private=True)
        self._hash_key = b""
        self._known: dict[str, tuple[SourceInfo, float]] = {}
        self._listeners: list[SourceListener] = []

    async def async_load(self) -> None:
        data = await self._store.async_load() or {}
        hash_key = data.get("hash_key")
        self._hash_key = bytes.fromhex(hash_key) if isinstance(hash_key, str) else secrets.token_bytes(32)
        for key, entry in (data.get("sources") or {}).items():
            try:
                self._known[key] = from_json(entry)
            except (KeyError, TypeError, ValueError) as err:
                _LOGGER.debug("Forgetting a stored source that cannot be read: %s", err)

    def get(self, source: str) -> SourceInfo | None:
        known = self._known.get(self._key(source))
        return known[0] if known is not None else None

    @callback
    def remember(self, source: str, info: SourceInfo) -> None:
        """`info` is what `source` carries now; listeners hear of it when a decision could change."""
        key = self._key(source)
        now = time.time()
        previous = self._known.get(key)
        if previous is not None and previous[0] == info and now - previous[1] <= RESEEN_AFTER:
            return  # unchanged and its "seen" time recent: nothing to write
        self._known[key] = (info, now)
        self._store.async_delay_save(self._data, SAVE_DELAY)
        if previous is None or decision(previous[0]) != decision(info):
            for listener in list(self._listeners):
                listener(source)

    @callback
    def add_listener(self, listener: SourceListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _key(self, source: str) -> str:
        return source_key(self._hash_key, source)

    def _data(self) -> dict[str, Any]:
        newest = sorted(self._known.items(), key=lambda item: item[1][1], reverse=True)[:MAX_SOURCES]
        self._known = dict(newest)
        return {
            "hash_key": self._hash_key.hex(),
            "sources": {key: to_json(info, seen) for key, (info, seen) in newest},
        }
