"""Keep secrets out of reprs, logs and error messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"
_SECRET_KEY = re.compile(
    r"(secret|password|passwd|token|credential|key|sas|signature|auth|connection_string|private)", re.I
)


def is_secret_key(name: str) -> bool:
    """True for option names that conventionally hold secrets (``secret``, ``token``, ``account_key``...)."""
    return bool(_SECRET_KEY.search(name))


def redact_mapping(options: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``options`` with secret-looking values replaced, recursively."""
    out: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, Mapping):
            out[name] = redact_mapping(value)
        elif is_secret_key(str(name)) and value is not None:
            out[name] = REDACTED
        else:
            out[name] = value
    return out


def redact_url(url: str) -> str:
    """Drop credentials and query strings (signed-URL signatures live there) from a URL."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    query = REDACTED if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.I)


def redact_text(text: str) -> str:
    """Redact every URL found in free text (error messages from backends may embed signed URLs)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)
