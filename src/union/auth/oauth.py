"""OAuth2 against the endpoints the server advertises through GetOAuth2Metadata / GetPublicClientConfig.

- client credentials (``ClientSecret``, and ``ApiKey`` whose key carries the client id and secret):
  ``POST token_endpoint`` with HTTP basic auth and ``grant_type=client_credentials``;
- the device-code flow (RFC 8628, ``DeviceFlow``; ``Pkce`` too, since a browser redirect cannot be
  received here): ask ``device_authorization_endpoint`` for a code, print where to enter it on stderr,
  poll the token endpoint until the user approves, denies, or the code expires;
- a ``refresh_token`` grant whenever the server handed out a refresh token.

Token endpoint answers are parsed here and only the ``error`` code and a scrubbed description ever reach a
message: never the access or refresh token, never the client secret.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import time
from collections.abc import Callable
from typing import IO, Any
from urllib.parse import quote_plus, urljoin

import requests

from union.auth.base import Authenticator, NoAuth, Token
from union.auth.cache import cache_key, credential_fingerprint
from union.errors import (
    DeadlineExceededError,
    NotFoundError,
    TransportError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
)
from union.redact import REDACTED, redact_text, redact_url

log = logging.getLogger("union.auth")

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


class ClientBasicAuth(requests.auth.AuthBase):
    """HTTP basic auth as RFC 6749 2.3.1 wants it for clients: id and secret form-urlencoded first."""

    def __init__(self, client_id: str, secret: str) -> None:
        self.client_id = client_id
        self.__secret = secret

    def __repr__(self) -> str:
        return f"<ClientBasicAuth client_id={self.client_id!r}>"

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        pair = f"{quote_plus(self.client_id)}:{quote_plus(self.__secret)}"
        r.headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return r


class OAuthAuthenticator(Authenticator):
    """Shared plumbing: endpoint discovery, scopes, form POSTs to the token endpoint and their errors."""

    kind = "OAuth2"

    def _secrets(self) -> list[str]:
        """Strings that must be scrubbed from anything shown (the client secret, when there is one)."""
        return []

    def _base_url(self) -> str | None:
        if not self.config.endpoint:
            return None
        try:
            from union.transport.endpoint import base_url  # the Connect client's rules (H1)

            return str(base_url(self.config))
        except ImportError:
            endpoint = self.config.endpoint.removeprefix("dns:///")
            if "://" in endpoint:
                return endpoint
            return ("http://" if self.config.insecure else "https://") + endpoint

    def _endpoint(self, url: str, what: str) -> str:
        if not url:
            raise UnauthenticatedError(
                f"the server at {self.config.endpoint} advertises no OAuth2 {what}. "
                "Configure a static token (UNION_TOKEN) or an auth command (admin.command) instead."
            )
        if "://" not in url:
            base = self._base_url()
            if base is None:
                raise UnauthenticatedError(f"the OAuth2 {what} {url!r} is relative and no endpoint is set.")
            url = urljoin(base.rstrip("/") + "/", url.lstrip("/"))
        return url

    def oauth_metadata(self) -> tuple[Any, Any]:
        try:
            return self.metadata()
        except (UnimplementedError, NotFoundError) as exc:
            raise UnauthenticatedError(
                f"the server at {self.config.endpoint} does not publish OAuth2 metadata "
                f"(GetOAuth2Metadata: {exc.code}), so {self.kind} auth cannot find its token endpoint. "
                "Configure a static token (UNION_TOKEN) or an auth command (admin.command) instead."
            ) from None

    def token_endpoint(self) -> str:
        meta, _ = self.oauth_metadata()
        return self._endpoint(meta.token_endpoint, "token endpoint")

    def scopes(self) -> list[str]:
        if self.config.scopes:
            return list(self.config.scopes)
        _, client = self.oauth_metadata()
        return list(client.scopes)

    def audience_form(self) -> dict[str, str]:
        """``audience`` from GetPublicClientConfig, which some identity providers require."""
        _, client = self.oauth_metadata()
        return {"audience": client.audience} if client.audience else {}

    def _scrub(self, text: str) -> str:
        for secret in self._secrets():
            if secret:
                text = text.replace(secret, REDACTED)
        return redact_text(text)[:300]

    def post_form(
        self, url: str, form: dict[str, str], *, auth: requests.auth.AuthBase | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST a form and return (status, JSON object); transport failures become typed errors."""
        shown = redact_url(url)
        try:
            response = self.session.post(
                url,
                data=form,
                auth=auth or NoAuth(),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise DeadlineExceededError(
                f"the token endpoint {shown} did not answer within {self.timeout:g} s. Retry later."
            ) from None
        except requests.exceptions.SSLError as exc:
            raise UnavailableError(
                f"TLS verification failed for the token endpoint {shown}: {self._scrub(str(exc))}. "
                "Set ca_cert_path (UNION_CA_CERT) to the server's CA bundle."
            ) from None
        except requests.RequestException as exc:
            raise UnavailableError(
                f"could not reach the token endpoint {shown}: {type(exc).__name__}. "
                "Check the endpoint and your network."
            ) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise UnavailableError(
                f"the token endpoint {shown} answered HTTP {response.status_code}. Retry later."
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UnauthenticatedError(
                f"the token endpoint {shown} answered HTTP {response.status_code} without a JSON object; "
                "check that the endpoint is an OAuth2 server."
            )
        return response.status_code, body

    def _error(self, body: dict[str, Any]) -> tuple[str, str]:
        code = str(body.get("error") or "")
        if not _ERROR_CODE.match(code):
            code = "unknown_error"
        description = body.get("error_description")
        return code, self._scrub(str(description)) if isinstance(description, str) else ""

    def _token_from(self, status: int, body: dict[str, Any], url: str, fix: str) -> Token:
        access = body.get("access_token")
        if status != 200 or "error" in body or not isinstance(access, str) or not access:
            code, description = self._error(body)
            detail = f": {description}" if description else ""
            raise UnauthenticatedError(
                f"the token endpoint {redact_url(url)} refused {self.kind} client {self.client_id!r} "
                f"(HTTP {status}, {code}{detail}). {fix}"
            )
        now = self.clock()
        expires_in = body.get("expires_in")
        expires_at = None
        if (isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)) or (
            isinstance(expires_in, str) and expires_in.isdigit()
        ):
            expires_at = now + float(expires_in)
        refresh = body.get("refresh_token")
        log.debug(
            "obtained a %s token for client %r (expires in %s s)",
            self.kind,
            self.client_id,
            expires_in if expires_at is not None else "?",
        )
        return Token(
            access_token=access,
            expires_at=expires_at,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            token_type=str(body.get("token_type") or "Bearer"),
            obtained_at=now,
        )

    def _renew(self, old: Token) -> Token | None:
        """The refresh_token grant; any refusal just means "fetch a new token the usual way"."""
        assert old.refresh_token is not None
        url = self.token_endpoint()
        form = {"grant_type": "refresh_token", "refresh_token": old.refresh_token}
        client_auth = self._client_auth()
        if client_auth is None and self.client_id:  # a public client names itself in the form
            form["client_id"] = self.client_id
        try:
            status, body = self.post_form(url, form, auth=client_auth)
            token = self._token_from(status, body, url, "")
        except UnauthenticatedError:
            log.debug("refresh_token grant refused for client %r: starting over", self.client_id)
            return None
        if token.refresh_token is None:  # servers may keep the old refresh token valid
            token = Token(
                access_token=token.access_token,
                expires_at=token.expires_at,
                refresh_token=old.refresh_token,
                token_type=token.token_type,
                obtained_at=token.obtained_at,
            )
        return token

    def _client_auth(self) -> requests.auth.AuthBase | None:
        return None

    def _cache_key(self) -> str | None:
        return cache_key(self.config.endpoint, self.kind, self.client_id, " ".join(self.config.scopes or ()))


class ClientCredentialsAuthenticator(OAuthAuthenticator):
    """``ClientSecret``: a confidential client's id and secret, exchanged for tokens at the token endpoint."""

    kind = "ClientSecret"

    def __init__(self, config: Any, *, client_id: str, client_secret: str, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.client_id = client_id
        self.__secret = client_secret
        self._fingerprint: str | None = None

    def _secrets(self) -> list[str]:
        return [self.__secret]

    def _client_auth(self) -> requests.auth.AuthBase:
        return ClientBasicAuth(self.client_id or "", self.__secret)

    def _fix(self) -> str:
        return "Check client_id and the client secret (client_secret_env_var / client_secret_location)."

    def _cache_key(self) -> str | None:
        """Keyed by the secret's fingerprint as well: a wrong or rotated secret must not find the tokens
        a good one obtained."""
        if self._fingerprint is None:
            self._fingerprint = credential_fingerprint(self.__secret, self._cache)
        if self._fingerprint is None:
            return None
        fingerprint = self._fingerprint
        scopes = " ".join(self.config.scopes or ())
        return cache_key(self.config.endpoint, self.kind, self.client_id, scopes, fingerprint)

    def _fetch(self) -> Token:
        url = self.token_endpoint()
        form = {"grant_type": "client_credentials"}
        scopes = self.scopes()
        if scopes:
            form["scope"] = " ".join(scopes)
        form.update(self.audience_form())
        status, body = self.post_form(url, form, auth=self._client_auth())
        return self._token_from(status, body, url, self._fix())


class ApiKeyAuthenticator(ClientCredentialsAuthenticator):
    """``ApiKey``: client credentials taken from a decoded ``UNION_API_KEY``."""

    kind = "ApiKey"

    def _fix(self) -> str:
        return "The API key may be revoked or mistyped: create a new one with `union create api-key`."


class DeviceFlowAuthenticator(OAuthAuthenticator):
    """``DeviceFlow`` (RFC 8628): the user approves this client in a browser anywhere, with a short code.

    The server's ``interval`` is honoured and grows by ``slow_down_step`` seconds on each ``slow_down``;
    polling stops when the code expires (the server's ``expires_in``, capped at ``max_wait``).
    """

    kind = "DeviceFlow"

    def __init__(
        self,
        config: Any,
        *,
        out: IO[str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        slow_down_step: float = 5.0,
        max_wait: float = 900.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(config, **kwargs)
        self._client_id_set = config.client_id is not None
        self.out = out
        self.sleep = sleep
        self.slow_down_step = slow_down_step
        self.max_wait = max_wait

    def _public_client_id(self) -> str:
        if self.client_id is None:
            _, client = self.oauth_metadata()
            if not client.client_id:
                raise UnauthenticatedError(
                    f"the server at {self.config.endpoint} names no public client for the device flow. "
                    "Set client_id (UNION_CLIENT_ID)."
                )
            self.client_id = client.client_id
        return self.client_id

    def _cache_key(self) -> str | None:
        if self.client_id is None:
            try:
                self._public_client_id()
            except TransportError:
                return None
        return super()._cache_key()

    def _fetch(self) -> Token:
        meta, _ = self.oauth_metadata()
        client_id = self._public_client_id()
        device_url = self._endpoint(meta.device_authorization_endpoint, "device authorization endpoint")
        token_url = self.token_endpoint()
        form = {"client_id": client_id}
        scopes = self.scopes()
        if scopes:
            form["scope"] = " ".join(scopes)
        form.update(self.audience_form())
        status, body = self.post_form(device_url, form)
        device_code = body.get("device_code")
        user_code = body.get("user_code")
        uri = body.get("verification_uri") or body.get("verification_url")
        if status != 200 or not all(isinstance(v, str) and v for v in (device_code, user_code, uri)):
            code, description = self._error(body)
            raise UnauthenticatedError(
                f"the device authorization endpoint {redact_url(device_url)} refused client {client_id!r} "
                f"(HTTP {status}, {code}{': ' + description if description else ''}). "
                "Check client_id, or use another auth_type."
            )
        assert isinstance(device_code, str)
        complete = body.get("verification_uri_complete")
        interval = _number(body.get("interval"), 5.0)
        expires_in = min(_number(body.get("expires_in"), self.max_wait), self.max_wait)
        out = self.out if self.out is not None else sys.stderr
        print(
            f"To sign in to {self.config.endpoint or 'union'}, open {uri} and enter the code {user_code}",
            file=out,
        )
        if isinstance(complete, str) and complete:
            print(f"(or open {complete})", file=out)
        out.flush()

        deadline = time.monotonic() + expires_in
        poll = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id}
        while True:
            if time.monotonic() + interval > deadline:
                raise UnauthenticatedError(
                    f"the sign-in code {user_code} was not approved within {expires_in:g} s. "
                    "Run again and approve it sooner at " + str(uri)
                )
            self.sleep(interval)
            status, body = self.post_form(token_url, poll)
            if status == 200 and "error" not in body:
                return self._token_from(status, body, token_url, "")
            code, description = self._error(body)
            if code == "authorization_pending":
                continue
            if code == "slow_down":
                interval += self.slow_down_step
                continue
            if code == "expired_token":
                raise UnauthenticatedError(
                    f"the sign-in code {user_code} expired before it was approved. Run again and approve it "
                    "within the time shown."
                )
            if code == "access_denied":
                raise UnauthenticatedError(
                    f"sign-in with code {user_code} was denied. Run again and approve it, or use another "
                    "auth_type (ApiKey, ClientSecret, Token)."
                )
            raise UnauthenticatedError(
                f"the token endpoint {redact_url(token_url)} refused the device code (HTTP {status}, {code}"
                f"{': ' + description if description else ''}). Run again, or use another auth_type."
            )


def _number(value: Any, default: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return default


def pkce_message() -> str:
    return (
        "auth_type Pkce needs a browser redirect to this machine, which union does not receive; it uses the "
        "device-code flow instead. Set auth_type: DeviceFlow to say so, or ClientSecret / ApiKey for "
        "unattended use."
    )
