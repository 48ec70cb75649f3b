"""API keys: ``UNION_API_KEY`` is base64 of ``endpoint:client_id:client_secret:org``.

``union create api-key`` prints one. The client id and secret are then used with the OAuth2
client-credentials grant at the token endpoint the server advertises. Decoding errors name the setting
and the fix, and never show the key.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from union.errors import ConfigError, InvalidArgumentError

_URLSAFE = str.maketrans("-_", "+/")
_SCHEME = re.compile(r"^(dns:///|[A-Za-z][A-Za-z0-9+.-]*://)")


@dataclass(frozen=True)
class ApiKey:
    """A decoded API key. ``endpoint`` may hold colons (``https://host:443``); the other fields cannot."""

    endpoint: str
    client_id: str
    client_secret: str
    org: str

    def __repr__(self) -> str:
        return f"ApiKey(endpoint={self.endpoint!r}, client_id={self.client_id!r}, org={self.org!r})"

    def encode(self) -> str:
        """The key in the form ``UNION_API_KEY`` takes (standard base64, padded). Only the endpoint may
        hold colons: any other field with one could not be decoded again."""
        for label, part in (
            ("client id", self.client_id),
            ("client secret", self.client_secret),
            ("org", self.org),
        ):
            if ":" in part:
                raise InvalidArgumentError(f"the {label} of an API key cannot contain ':'")
        raw = f"{self.endpoint}:{self.client_id}:{self.client_secret}:{self.org}"
        return base64.b64encode(raw.encode()).decode()


def decode_api_key(value: str, where: str = "$UNION_API_KEY") -> ApiKey:
    """Decode a key given in ``where`` (named in errors); standard or URL-safe base64, padding optional."""
    fix = (
        "Copy the key exactly as `union create api-key` printed it, or unset it to use another kind of auth."
    )
    text = "".join(value.split())
    text = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text.translate(_URLSAFE).encode("ascii"), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError):
        raise ConfigError(f"{where} is not a valid API key: it is not base64 text. {fix}") from None
    scheme = _SCHEME.match(decoded)
    prefix = scheme.group(0) if scheme else ""
    parts = decoded[len(prefix) :].rsplit(":", 3)
    if len(parts) != 4:
        raise ConfigError(
            f"{where} is not a valid API key: it holds {len(parts)} colon-separated fields, "
            f"expected 4 (endpoint:client_id:client_secret:org). {fix}"
        )
    endpoint, client_id, secret, org = parts
    endpoint = prefix + endpoint
    missing = [
        name
        for name, v in (("endpoint", parts[0]), ("client_id", client_id), ("client_secret", secret))
        if not v
    ]
    if missing:
        raise ConfigError(f"{where} is not a valid API key: its {', '.join(missing)} field is empty. {fix}")
    return ApiKey(endpoint=endpoint, client_id=client_id, client_secret=secret, org=org)
