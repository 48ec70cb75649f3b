"""``Token``: a bearer token given as ``token`` / ``UNION_TOKEN``, sent as is and never renewed."""

from __future__ import annotations

from typing import Any

from union.auth.base import Authenticator, Token
from union.errors import ConfigError


class StaticTokenAuthenticator(Authenticator):
    """Sends the configured token. ``refresh()`` is False: a rejected static token cannot get better."""

    kind = "Token"

    def __init__(self, config: Any, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        if not config.token:
            raise ConfigError("auth_type is Token but no token is set. Set UNION_TOKEN (or token).")
        self.__token = Token(access_token=config.token)

    def _fetch(self) -> Token:
        return self.__token

    def refresh(self) -> bool:
        with self._lock:
            self._token = self.__token
        return False
