"""Credentials never reach a log line or a diagnostic."""

from __future__ import annotations

import re

from yarl import URL

REDACTED = "****"
_SECRET_QUERY_KEYS = frozenset({"auth", "user", "username", "password", "pass", "pwd", "token", "key"})
# Fallback for strings yarl cannot parse: anything between "scheme://" and "@".
_USERINFO = re.compile(r"(?<=://)[^/@\s]+(?=@)")


def redact_credentials(url: str) -> str:
    """The URL with its user, password and credential-like query values masked."""
    try:
        parsed = URL(url)
    except ValueError:
        return _USERINFO.sub(REDACTED, url)
    if not parsed.is_absolute():
        return _USERINFO.sub(REDACTED, url)
    if parsed.user is not None:
        parsed = parsed.with_user(REDACTED)
    if parsed.password is not None:
        parsed = parsed.with_password(REDACTED)
    if any(key.lower() in _SECRET_QUERY_KEYS for key in parsed.query):
        parsed = parsed.with_query(
            [(key, REDACTED if key.lower() in _SECRET_QUERY_KEYS else value) for key, value in parsed.query.items()]
        )
    return str(parsed)


def redact_text(text: str, source: str) -> str:
    """`text` (e.g. an FFmpeg error) with every appearance of the source and its secrets masked."""
    redacted = text.replace(source, redact_credentials(source))
    try:
        parsed = URL(source)
    except ValueError:
        return redacted
    for secret in (parsed.password, parsed.raw_password):
        if secret:
            redacted = redacted.replace(secret, REDACTED)
    return redacted
