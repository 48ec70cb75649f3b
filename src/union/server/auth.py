"""Authentication for ``union serve``: API keys, an OAuth2 token endpoint and the device-code flow.

A client holding an API key (``base64("endpoint:client_id:client_secret:org")``) trades its id and secret
for a short-lived opaque bearer token at ``POST /oauth2/token`` (RFC 6749 client credentials); a person at
a terminal uses the device flow (RFC 8628): the CLI asks ``POST /oauth2/device/authorize`` for a user code,
someone holding an API key approves it at ``/device``, and the CLI's polling of the token endpoint then
yields a token. Every Connect call carries ``authorization: Bearer <token>``; :meth:`ServerAuth.authenticate`
checks it before the server dispatches.

The server keeps only hashes of secrets and tokens (:mod:`union.server.credentials`), never logs them and
never puts them in an error message.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote_plus

from union import errors
from union.auth import apikey
from union.server.credentials import ApiKey, CredentialStore
from union.server.exchange import Request, Response

if TYPE_CHECKING:
    from flyteidl2.auth import auth_service_pb2, identity_pb2

log = logging.getLogger("union.server.auth")

TOKEN_PATH = "/oauth2/token"
DEVICE_AUTHORIZE_PATH = "/oauth2/device/authorize"
DEVICE_PATH = "/device"
METADATA_PATH = "/.well-known/oauth-authorization-server"
PATHS = (TOKEN_PATH, DEVICE_AUTHORIZE_PATH, DEVICE_PATH, METADATA_PATH)

CLIENT_CREDENTIALS = "client_credentials"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
REFRESH_TOKEN = "refresh_token"
GRANT_TYPES = (CLIENT_CREDENTIALS, DEVICE_CODE_GRANT, REFRESH_TOKEN)

PUBLIC_CLIENT_ID = "union-cli"
"""The client id the CLI uses for the device flow (a public client: it has no secret)."""
SCOPES = ("all",)
AUTHORIZATION_METADATA_KEY = "authorization"
REDIRECT_URI = "http://localhost:53593/callback"
DEFAULT_ENDPOINT = "http://127.0.0.1:8080"

_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels (no words), no look-alike digits
_MAX_FORM_BYTES = 64 * 1024
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def default_server_dir() -> Path:
    """Where ``union serve`` and the ``api-key`` commands keep the server's state unless ``--data-dir`` says."""
    from union.config import paths

    return paths.data_dir() / "server"


DEFAULT_SERVER_DIR = default_server_dir
"""Alias of :func:`default_server_dir` (a function, so ``$UNION_DATA_DIR`` is read when called)."""


# -- the API key format ----------------------------------------------------------------------------


def check_key_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS or name[0] in ".-":
        raise errors.InvalidArgumentError(
            f"{name!r} is not a valid API key name: use 1-64 letters, digits, '_', '.' or '-', starting with a "
            "letter, digit or '_'"
        )
    return name


# -- OAuth2 answers --------------------------------------------------------------------------------


class OAuthError(Exception):
    """An RFC 6749 error answer: ``error`` is the code, ``description`` a human sentence (never a secret)."""

    def __init__(self, error: str, description: str, *, status: int = 400, basic: bool = False) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.basic = basic

    def response(self) -> Response:
        headers = _no_store({"content-type": "application/json"})
        if self.status == 401:
            headers["www-authenticate"] = 'Basic realm="union"' if self.basic else 'Bearer realm="union"'
        body = {"error": self.error, "error_description": self.description}
        return Response(status=self.status, headers=headers, body=json.dumps(body).encode())


def _no_store(headers: dict[str, str]) -> dict[str, str]:
    headers["cache-control"] = "no-store"
    headers["pragma"] = "no-cache"
    return headers


def _json(data: Mapping[str, Any], *, status: int = 200) -> Response:
    return Response(
        status=status, headers=_no_store({"content-type": "application/json"}), body=json.dumps(data).encode()
    )


def _read_form(request: Request) -> dict[str, str]:
    """The form body as single values; duplicate or oversized parameters are an ``invalid_request``."""
    content_type = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError(
            "invalid_request", "send the parameters form-encoded (application/x-www-form-urlencoded)"
        )
    if request.content_length is not None and request.content_length > _MAX_FORM_BYTES:
        raise OAuthError("invalid_request", f"the request body is larger than {_MAX_FORM_BYTES} bytes")
    body = request.stream.read(
        _MAX_FORM_BYTES + 1 if request.content_length is None else request.content_length
    )
    if len(body) > _MAX_FORM_BYTES:
        raise OAuthError("invalid_request", f"the request body is larger than {_MAX_FORM_BYTES} bytes")
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "the form body is not UTF-8") from None
    form: dict[str, str] = {}
    for name, values in parsed.items():
        if len(values) > 1:
            raise OAuthError("invalid_request", f"the parameter {name!r} is given more than once")
        form[name] = values[0]
    return form


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(
            "invalid_client", "the HTTP Basic credentials are not valid base64", status=401, basic=True
        ) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError(
            "invalid_client", "the HTTP Basic credentials have no ':' separator", status=401, basic=True
        )
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


def _bearer(request: Request) -> str:
    header = request.headers.get(AUTHORIZATION_METADATA_KEY)
    if header is None or not header.strip():
        raise errors.UnauthenticatedError(
            "this server requires authentication and the request has no 'authorization: Bearer <token>' "
            "header: set UNION_API_KEY to a key from `union create api-key` (run where the server keeps its "
            "data), or configure auth in the union config"
        )
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.UnauthenticatedError(
            "the authorization header is not a bearer token: send 'authorization: Bearer <token>' with a token "
            f"from this server's {TOKEN_PATH}"
        )
    return token.strip()


def _fmt_time(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


# -- the server side -------------------------------------------------------------------------------


class ServerAuth:
    """API keys, tokens and device codes for one ``union serve`` data directory.

    ``enabled=False`` lets every request in as ``"anonymous"`` (a server bound to loopback for one user);
    the OAuth2 endpoints still answer so a client configured with a key keeps working. ``public_url`` is the
    base URL clients reach the server at: it is written into the OAuth2 metadata and may be set after the
    server has bound its port. ``clock`` and ``failure_delay`` exist for tests.
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        public_url: str,
        enabled: bool,
        token_ttl: float = 3600,
        refresh_ttl: float = 30 * 86400,
        device_code_ttl: float = 600,
        device_interval: int = 5,
        failure_delay: float = 0.05,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.public_url = public_url
        self.enabled = enabled
        self.token_ttl = token_ttl
        self.refresh_ttl = refresh_ttl
        self.device_code_ttl = device_code_ttl
        self.device_interval = device_interval
        self.failure_delay = failure_delay
        self.clock = clock
        self.store = CredentialStore(self.data_dir)
        self._failures: dict[str, int] = {}
        self._failures_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ServerAuth(data_dir={str(self.data_dir)!r}, public_url={self.public_url!r}, enabled={self.enabled})"

    def close(self) -> None:
        self.store.close()

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/")

    # -- API keys --------------------------------------------------------------------------------

    def create_api_key(self, name: str, endpoint: str | None = None, org: str = "") -> str:
        """Store a new key and return the full API key string: the only time its secret exists in clear."""
        check_key_name(name)
        if ":" in org:
            raise errors.InvalidArgumentError(f"the org {org!r} cannot contain ':'")
        client_id = f"{name}-{secrets.token_hex(4)}"
        secret = secrets.token_urlsafe(32)
        key = apikey.ApiKey(endpoint or self.base_url, client_id, secret, org).encode()
        self.store.add_api_key(name, client_id, secret, now=self.clock())
        log.info("created API key %r (client id %s)", name, client_id)
        return key

    def list_api_keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        return self.store.api_keys(include_revoked=include_revoked)

    def revoke_api_key(self, name: str) -> ApiKey:
        """Revoke the key and every token issued for it (refused from then on, also by running servers)."""
        key = self.store.revoke_api_key(name, now=self.clock())
        log.info("revoked API key %r (client id %s) and its tokens", key.name, key.client_id)
        return key

    # -- checking requests -----------------------------------------------------------------------

    def authenticate(self, request: Request) -> str:
        """Set and return ``request.principal``, or raise :class:`~union.errors.UnauthenticatedError`.

        Tokens are looked up by their SHA-256 digest, so lookup time says nothing about the token itself.
        """
        if not self.enabled:
            request.principal = "anonymous"
            return "anonymous"
        token = _bearer(request)
        record = self.store.token(token, kind="access")
        if record is None:
            raise errors.UnauthenticatedError(
                "the access token is not one this server issued (or its data directory was reset): get a new "
                f"one from {TOKEN_PATH} with your API key"
            )
        if record.revoked_at is not None:
            raise errors.UnauthenticatedError(
                "the access token was revoked (its API key was deleted): create a new key with "
                "`union create api-key` and use it"
            )
        if record.expires_at <= self.clock():
            raise errors.UnauthenticatedError(
                f"the access token expired at {_fmt_time(record.expires_at)}: the client should get a new one "
                f"from {TOKEN_PATH}"
            )
        request.principal = record.subject
        return record.subject

    # -- device approval -------------------------------------------------------------------------

    def approve(self, user_code: str, *, by: str | None = None) -> None:
        """Approve a pending device login; ``by`` (a client id) ties the token to that key's revocation."""
        code = _normalise_user_code(user_code)
        self.store.set_device_status(code, "approved", approved_by=by, now=self.clock())
        log.info("device login %s approved by %s", code, by or "the server operator")

    def deny(self, user_code: str) -> None:
        code = _normalise_user_code(user_code)
        self.store.set_device_status(code, "denied", approved_by=None, now=self.clock())
        log.info("device login %s denied", code)

    # -- metadata --------------------------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata, as served at ``/.well-known/oauth-authorization-server``."""
        return {
            "issuer": self.base_url,
            "token_endpoint": self.base_url + TOKEN_PATH,
            "device_authorization_endpoint": self.base_url + DEVICE_AUTHORIZE_PATH,
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": list(SCOPES),
            "response_types_supported": [],
        }

    def oauth2_metadata(self) -> auth_service_pb2.GetOAuth2MetadataResponse:
        from flyteidl2.auth import auth_service_pb2

        meta = self.metadata()
        return auth_service_pb2.GetOAuth2MetadataResponse(
            issuer=meta["issuer"],
            token_endpoint=meta["token_endpoint"],
            device_authorization_endpoint=meta["device_authorization_endpoint"],
            grant_types_supported=meta["grant_types_supported"],
            token_endpoint_auth_methods_supported=meta["token_endpoint_auth_methods_supported"],
            scopes_supported=meta["scopes_supported"],
        )

    def public_client_config(self) -> auth_service_pb2.GetPublicClientConfigResponse:
        from flyteidl2.auth import auth_service_pb2

        return auth_service_pb2.GetPublicClientConfigResponse(
            client_id=PUBLIC_CLIENT_ID,
            redirect_uri=REDIRECT_URI,
            scopes=list(SCOPES),
            authorization_metadata_key=AUTHORIZATION_METADATA_KEY,
            service_http_endpoint=self.base_url,
        )

    def user_info(self, request: Request) -> identity_pb2.UserInfoResponse:
        from flyteidl2.auth import identity_pb2

        principal = request.principal if request.principal is not None else self.authenticate(request)
        key = self.store.api_key(principal) if self.enabled else None
        name = key.name if key else principal
        return identity_pb2.UserInfoResponse(subject=principal, name=name, preferred_username=name)

    # -- HTTP ------------------------------------------------------------------------------------

    @staticmethod
    def handles(path: str) -> bool:
        """True for the paths :meth:`handle` answers (the router sends these here, unauthenticated)."""
        return path.split("?", 1)[0] in PATHS

    def handle(self, request: Request) -> Response:
        path = request.path.split("?", 1)[0]
        routes: dict[str, dict[str, Callable[[Request], Response]]] = {
            TOKEN_PATH: {"POST": self._token},
            DEVICE_AUTHORIZE_PATH: {"POST": self._device_authorize},
            DEVICE_PATH: {"GET": self._device_page, "POST": self._device_decide},
            METADATA_PATH: {"GET": lambda _r: _json(self.metadata())},
        }
        methods = routes.get(path)
        if methods is None:
            return _json(
                {"error": "not_found", "error_description": f"no auth endpoint at {path}"}, status=404
            )
        handler = methods.get(request.method.upper())
        if handler is None:
            allowed = ", ".join(sorted(methods))
            response = _json(
                {"error": "invalid_request", "error_description": f"{path} accepts {allowed} only"},
                status=405,
            )
            response.headers["allow"] = allowed
            return response
        try:
            return handler(request)
        except OAuthError as exc:
            return exc.response()

    # -- /oauth2/token ---------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = _read_form(request)
        grant = form.get("grant_type")
        if not grant:
            raise OAuthError("invalid_request", "the grant_type parameter is missing")
        if grant == CLIENT_CREDENTIALS:
            return self._client_credentials(request, form)
        if grant == DEVICE_CODE_GRANT:
            return self._device_grant(form)
        if grant == REFRESH_TOKEN:
            return self._refresh_grant(form)
        raise OAuthError(
            "unsupported_grant_type", f"this server supports the grant types {', '.join(GRANT_TYPES)} only"
        )

    def _client_credentials(self, request: Request, form: Mapping[str, str]) -> Response:
        basic = _basic_credentials(request)
        posted = form.get("client_id") is not None or form.get("client_secret") is not None
        if basic and posted:
            raise OAuthError(
                "invalid_request", "send the client credentials once: HTTP Basic or form fields, not both"
            )
        if basic:
            client_id, secret = basic
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or not secret:
            raise OAuthError(
                "invalid_client",
                "no client credentials: send the API key's client id and secret with HTTP Basic auth",
                status=401,
                basic=True,
            )
        key = self._check_client(client_id, secret)
        if key is None:
            raise OAuthError(
                "invalid_client",
                "the client id or secret is wrong: check the API key (`union get api-key` lists the valid ones)",
                status=401,
                basic=bool(basic),
            )
        if not key.active:
            raise OAuthError(
                "invalid_client",
                f"the API key {key.name!r} was deleted on the server: create a new one with `union create api-key`",
                status=401,
                basic=bool(basic),
            )
        return self._issue(subject=key.client_id, client_id=key.client_id, grant=CLIENT_CREDENTIALS)

    def _check_client(self, client_id: str, secret: str) -> ApiKey | None:
        """Verify a client's secret; repeated failures for one id are answered a little slower each time."""
        key = self.store.check_client(client_id, secret)
        if key is not None:
            with self._failures_lock:
                self._failures.pop(client_id, None)
            return key
        known = self.store.api_key(client_id) is not None
        with self._failures_lock:
            bucket = client_id if known else ""  # never keep (or log) what an unknown id might be
            count = self._failures.get(bucket, 0) + 1
            self._failures[bucket] = count
            if len(self._failures) > 10_000:
                self._failures.clear()
        if known:
            log.warning("client authentication failed for client id %s (%d in a row)", client_id, count)
        else:
            log.warning("client authentication failed for an unknown client id")
        if self.failure_delay > 0:
            time.sleep(min(self.failure_delay * count, 1.0))
        return None

    def _issue(self, *, subject: str, client_id: str | None, grant: str, refresh: bool = False) -> Response:
        now = self.clock()
        access = secrets.token_urlsafe(32)
        scope = " ".join(SCOPES)
        self.store.add_token(
            access,
            kind="access",
            subject=subject,
            client_id=client_id,
            scope=scope,
            now=now,
            expires_at=now + self.token_ttl,
        )
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": max(1, round(self.token_ttl)),
            "scope": scope,
        }
        if refresh:
            refresh_token = secrets.token_urlsafe(32)
            self.store.add_token(
                refresh_token,
                kind="refresh",
                subject=subject,
                client_id=client_id,
                scope=scope,
                now=now,
                expires_at=now + self.refresh_ttl,
            )
            body["refresh_token"] = refresh_token
        log.info("issued an access token to %s (%s grant)", subject, grant)
        return _json(body)

    def _refresh_grant(self, form: Mapping[str, str]) -> Response:
        token = form.get("refresh_token")
        if not token:
            raise OAuthError("invalid_request", "the refresh_token parameter is missing")
        record = self.store.token(token, kind="refresh")
        if record is None or record.revoked_at is not None or record.expires_at <= self.clock():
            raise OAuthError(
                "invalid_grant", "the refresh token is unknown, expired or revoked: log in again"
            )
        self.store.revoke_token(token, now=self.clock())  # rotated: each refresh token works once
        return self._issue(
            subject=record.subject, client_id=record.client_id, grant=REFRESH_TOKEN, refresh=True
        )

    # -- device flow -----------------------------------------------------------------------------

    def _device_authorize(self, request: Request) -> Response:
        form = _read_form(request)
        client_id = form.get("client_id")
        if not client_id:
            raise OAuthError(
                "invalid_request", f"the client_id parameter is missing (use {PUBLIC_CLIENT_ID!r})"
            )
        if client_id != PUBLIC_CLIENT_ID:
            key = self.store.api_key(client_id)
            if key is None or not key.active:
                raise OAuthError(
                    "invalid_client",
                    f"unknown client id: the CLI's device login uses {PUBLIC_CLIENT_ID!r}",
                    status=401,
                )
        device_code = secrets.token_urlsafe(32)
        user_code = ""
        for _ in range(5):
            user_code = _new_user_code()
            if self.store.device_by_user_code(user_code) is None:
                break
        self.store.add_device_code(
            device_code,
            user_code,
            client_id=client_id,
            scope=form.get("scope") or " ".join(SCOPES),
            now=self.clock(),
            ttl=self.device_code_ttl,
            interval=self.device_interval,
        )
        verification = self.base_url + DEVICE_PATH
        log.info("device login %s started", user_code)
        return _json(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verification,
                "verification_uri_complete": f"{verification}?user_code={quote(user_code)}",
                "expires_in": max(1, round(self.device_code_ttl)),
                "interval": self.device_interval,
            }
        )

    def _device_grant(self, form: Mapping[str, str]) -> Response:
        device_code = form.get("device_code")
        if not device_code:
            raise OAuthError("invalid_request", "the device_code parameter is missing")
        now = self.clock()
        code, last_poll = self.store.poll_device_code(device_code, now=now)
        if code is None:
            raise OAuthError("invalid_grant", "unknown device code: start the device login again")
        client_id = form.get("client_id")
        if client_id and client_id != code.client_id:
            raise OAuthError("invalid_grant", "the device code was issued to another client id")
        if code.expires_at <= now:
            raise OAuthError("expired_token", "the device code expired before it was approved: log in again")
        if code.status == "denied":
            raise OAuthError("access_denied", "the device login was denied")
        if code.status == "used":
            raise OAuthError(
                "invalid_grant", "the device code was already exchanged for a token: log in again"
            )
        if code.status == "pending":
            if last_poll is not None and now - last_poll < code.interval:
                raise OAuthError("slow_down", f"poll at most every {code.interval} s")
            raise OAuthError(
                "authorization_pending", f"waiting for approval of {code.user_code} at {DEVICE_PATH}"
            )
        approver = code.approved_by
        return self._issue(
            subject=approver or f"device:{code.user_code}",
            client_id=approver,
            grant=DEVICE_CODE_GRANT,
            refresh=True,
        )

    def _device_page(self, request: Request) -> Response:
        user_code = request.query_one("user_code") or ""
        status = ""
        if user_code:
            try:
                found = self.store.device_by_user_code(_normalise_user_code(user_code))
            except errors.InvalidArgumentError:
                found = None
            status = "unknown code" if found is None else found.status
        return _html(_device_html(self.base_url, user_code, status))

    def _device_decide(self, request: Request) -> Response:
        form = _read_form(request)
        wants_json = "application/json" in (request.headers.get("accept") or "")
        try:
            approver = self._device_approver(request, form.get("api_key"))
            user_code = form.get("user_code") or request.query_one("user_code") or ""
            action = form.get("action", "approve")
            if action not in ("approve", "deny"):
                raise errors.InvalidArgumentError("action must be 'approve' or 'deny'")
            if action == "approve":
                self.approve(user_code, by=approver)
            else:
                self.deny(user_code)
        except errors.TransportError as exc:
            status = {"unauthenticated": 401, "not_found": 404}.get(exc.code, 400)
            if wants_json:
                return _json({"error": exc.code, "error_description": str(exc)}, status=status)
            return _html(_page("Device login", f"<p>{html.escape(str(exc))}</p>"), status=status)
        done = "approved" if action == "approve" else "denied"
        code = _normalise_user_code(user_code)
        if wants_json:
            return _json({"user_code": code, "status": done})
        return _html(_page("Device login", f"<p>The login {html.escape(code)} is {done}.</p>"))

    def _device_approver(self, request: Request, api_key: str | None) -> str | None:
        """Who approves: the key behind the bearer token, or a pasted API key; anyone when auth is off."""
        if api_key:
            try:
                pasted = apikey.decode_api_key(api_key, "the pasted API key")
            except errors.ConfigError as exc:
                raise errors.InvalidArgumentError(str(exc)) from None
            key = self._check_client(pasted.client_id, pasted.client_secret)
            if key is None or not key.active:
                raise errors.UnauthenticatedError("the API key is wrong or was deleted")
            return key.client_id
        if not self.enabled and not request.headers.get("authorization"):
            return None
        self.authenticate(request)
        principal = request.principal or ""
        key = self.store.api_key(principal) if self.enabled else None
        if self.enabled and (key is None or not key.active):
            raise errors.UnauthenticatedError("approving a device login needs the token of an API key")
        return key.client_id if key else None


def _new_user_code() -> str:
    chars = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def _normalise_user_code(user_code: str) -> str:
    """Accept codes typed in lower case, without the dash or with spaces."""
    chars = "".join(c for c in user_code.upper() if c.isalnum())
    if len(chars) != 8 or not set(chars) <= set(_USER_CODE_ALPHABET):
        raise errors.InvalidArgumentError(
            "that is not a device login code: it has 8 letters, like BCDF-GHJK, as the device shows it"
        )
    return f"{chars[:4]}-{chars[4:]}"


def _html(text: str, *, status: int = 200) -> Response:
    headers = _no_store({"content-type": "text/html; charset=utf-8"})
    headers["x-frame-options"] = "DENY"
    headers["content-security-policy"] = "default-src 'none'; form-action 'self'; style-src 'unsafe-inline'"
    return Response(status=status, headers=headers, body=text.encode("utf-8"))


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f'<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">'
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _device_html(base_url: str, user_code: str, status: str) -> str:
    code = html.escape(user_code)
    state = f"<p>Status of {code}: <b>{html.escape(status)}</b></p>" if status else ""
    return _page(
        "Approve a device login",
        f"{state}<p>A device asked to log in to this union server. Approve it only if you started it and the "
        f"code below matches the one it shows.</p>"
        f'<form method="post" action="{DEVICE_PATH}">'
        f'<p><label>Code <input name="user_code" value="{code}" required></label></p>'
        f'<p><label>Your API key <input name="api_key" type="password" autocomplete="off" required></label></p>'
        f'<p><button name="action" value="approve">Approve</button> '
        f'<button name="action" value="deny">Deny</button></p></form>'
        f"<p>From a shell: <code>curl -X POST -H 'authorization: Bearer TOKEN' -d user_code=CODE "
        f"{html.escape(base_url)}{DEVICE_PATH}</code></p>",
    )
