"""What every authenticator shares: the cached token, the header it sets, the lock and the refresh rules.

An authenticator is a ``requests.auth.AuthBase``: the Connect transport passes it as ``auth=`` and calls
:meth:`Authenticator.refresh` once when the server answers ``unauthenticated``. Subclasses only say how to
obtain a token (:meth:`Authenticator._fetch`) and, optionally, how to renew one (:meth:`_renew`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests
import requests.auth

from union.errors import TransportError

if TYPE_CHECKING:
    from flyteidl2.auth import auth_service_pb2

    from union.auth.cache import TokenCache
    from union.config import Config

    MetadataFn = Callable[
        [],
        tuple[auth_service_pb2.GetOAuth2MetadataResponse, auth_service_pb2.GetPublicClientConfigResponse],
    ]
else:
    MetadataFn = Callable[[], Any]

log = logging.getLogger("union.auth")

DEFAULT_HEADER = "authorization"
REFRESH_WINDOW = 60.0
"""Seconds before expiry at which a token counts as stale and is renewed before use."""


@dataclass(frozen=True)
class Token:
    """An access token and what is known about its lifetime. Its repr never shows the secrets."""

    access_token: str
    expires_at: float | None = None
    refresh_token: str | None = None
    token_type: str = "Bearer"
    obtained_at: float = 0.0

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at!r}, refreshable={self.refresh_token is not None})"

    def fresh(self, now: float, window: float = REFRESH_WINDOW) -> bool:
        """True while the token is usable for at least ``window`` more seconds."""
        return self.expires_at is None or self.expires_at - now > window

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "token_type": self.token_type,
            "obtained_at": self.obtained_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> Token | None:
        """Rebuild a cached token; None for anything malformed (a damaged cache is simply a miss)."""
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            return None
        expires_at = data.get("expires_at")
        refresh = data.get("refresh_token")
        if expires_at is not None and not isinstance(expires_at, (int, float)):
            return None
        if refresh is not None and not isinstance(refresh, str):
            return None
        obtained = data.get("obtained_at")
        return cls(
            access_token=data["access_token"],
            expires_at=float(expires_at) if expires_at is not None else None,
            refresh_token=refresh,
            token_type=str(data.get("token_type") or "Bearer"),
            obtained_at=float(obtained) if isinstance(obtained, (int, float)) else 0.0,
        )


class NoAuth(requests.auth.AuthBase):
    """Explicitly no credentials, so a shared session's own ``auth`` (or ~/.netrc) never applies."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


def make_session(config: Config) -> requests.Session:
    """A session honouring the TLS settings: a CA bundle, or verification switched off on request."""
    from union.transport.endpoint import tls_verify

    session = requests.Session()
    verify = tls_verify(config)
    if verify is False:
        log.warning(
            "TLS certificate verification is off (insecure_skip_verify): use only against a server you trust"
        )
    if verify is not None:
        session.verify = verify
    return session


class Authenticator(requests.auth.AuthBase):
    """Sets ``<header>: Bearer <token>`` on each request; tokens are obtained under a lock.

    ``metadata`` returns the server's (GetOAuth2Metadata, GetPublicClientConfig) answers, fetched without
    credentials; it is called at most once, and only when something needs it (the header name when the
    config does not give one, the OAuth2 endpoints). ``cache`` persists tokens between processes;
    ``clock`` exists so tests can move time.
    """

    kind = "None"

    def __init__(
        self,
        config: Config,
        *,
        metadata: MetadataFn | None = None,
        session: requests.Session | None = None,
        cache: TokenCache | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.client_id: str | None = config.client_id
        self.timeout = timeout
        self.clock = clock
        self.refresh_window = REFRESH_WINDOW
        self._metadata_fn = metadata
        self._metadata: tuple[Any, Any] | None = None
        self._session = session
        self._cache = cache
        self._token: Token | None = None
        self._header: str | None = config.authorization_header
        self._lock = threading.RLock()
        self._sent = threading.local()  # the token this thread last sent, to spot a refresh done meanwhile

    def __repr__(self) -> str:
        return f"<{type(self).__name__} kind={self.kind!r} client_id={self.client_id!r}>"

    # -- what requests calls ----------------------------------------------------------------------

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.token()
        self._sent.token = token
        r.headers[self.header_name()] = f"Bearer {token}"
        return r

    def token(self) -> str:
        """A usable access token: the one held, a cached one, a renewed one or a new one, in that order."""
        with self._lock:
            now = self.clock()
            if self._token is not None and self._token.fresh(now, self.refresh_window):
                return self._token.access_token
            if self._token is None:
                cached = self._cache_get()
                if cached is not None and cached.fresh(now, self.refresh_window):
                    self._token = cached
                    return cached.access_token
                self._token = cached
            self._token = self._obtain(self._token)
            return self._token.access_token

    def refresh(self) -> bool:
        """Drop the held and cached token and obtain another; True when a different token was obtained.

        The Connect client calls this once after an ``unauthenticated`` answer and retries only on True.
        When another thread already replaced the token this thread sent, that one is used instead of
        obtaining yet another (which, for the device flow, would ask the user again).
        """
        with self._lock:
            old = self._token
            sent = getattr(self._sent, "token", None)
            if old is not None and sent is not None and sent != old.access_token:
                return True
            log.debug("%s: the server refused the token; obtaining another", self.kind)
            self._token = None
            self._cache_delete()
            self._token = self._obtain(old)
            return old is None or self._token.access_token != old.access_token

    def header_name(self) -> str:
        """``authorization_header`` from the config, else the server's ``authorization_metadata_key``."""
        if self._header is None:
            with self._lock:
                if self._header is None:
                    name = DEFAULT_HEADER
                    try:
                        _, client = self.metadata()
                        name = client.authorization_metadata_key or DEFAULT_HEADER
                    except TransportError as exc:
                        log.debug("no public client config (%s): using the %r header", exc.code, name)
                    self._header = name
        return self._header

    # -- for subclasses ---------------------------------------------------------------------------

    def _fetch(self) -> Token:
        """Obtain a brand-new token."""
        raise NotImplementedError

    def _renew(self, old: Token) -> Token | None:
        """Obtain a token from an old one (an OAuth2 refresh_token grant), or None when that is not possible."""
        return None

    def _cache_key(self) -> str | None:
        """What the persistent cache files this authenticator's tokens under; None means not cached."""
        return None

    # -- helpers ----------------------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = make_session(self.config)
        return self._session

    def metadata(self) -> tuple[Any, Any]:
        """The server's OAuth2 metadata and public client config, fetched once."""
        with self._lock:
            if self._metadata is None:
                if self._metadata_fn is None:
                    raise TransportError(
                        "no way to ask the server for its OAuth2 metadata", code="unimplemented"
                    )
                self._metadata = self._metadata_fn()
            return self._metadata

    def _obtain(self, old: Token | None) -> Token:
        token: Token | None = None
        if old is not None and old.refresh_token:
            token = self._renew(old)
        if token is None:
            token = self._fetch()
        self._cache_put(token)
        return token

    def _cache_get(self) -> Token | None:
        key = self._cache_key()
        return self._cache.get(key) if self._cache is not None and key is not None else None

    def _cache_put(self, token: Token) -> None:
        key = self._cache_key()
        if self._cache is not None and key is not None:
            self._cache.put(key, token)

    def _cache_delete(self) -> None:
        key = self._cache_key()
        if self._cache is not None and key is not None:
            self._cache.delete(key)
