"""A small real OAuth2 server for the client-auth tests: client credentials, device code, refresh tokens.

It speaks the formats `union serve` uses (see the shared plan): form POSTs, JSON answers, RFC 6749/8628
error codes with HTTP 400/401. `/api` stands in for a protected Connect route: 200 with a valid bearer
token in the configured header, else 401.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import requests
from flyteidl2.auth import auth_service_pb2

PUBLIC_CLIENT = "union-cli"


@dataclass
class Issued:
    client_id: str
    expires_in: float


@dataclass
class OAuthServer:
    clients: dict[str, str] = field(default_factory=dict)
    expires_in: float | None = 3600
    issue_refresh_tokens: bool = False
    header: str = "authorization"
    scopes: tuple[str, ...] = ("all",)
    audience: str = ""
    # device flow: the answers to successive polls: "pending", "slow_down", "expired", "denied", "approved"
    device_script: list[str] = field(default_factory=list)
    device_interval: float = 0
    device_expires_in: float = 60
    echo_secret_in_errors: bool = False
    fail_status: int | None = None  # answer every token request with this status and a non-JSON body
    token_suffix: str = ""  # appended to every issued access and refresh token

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, str] = {}  # access token -> client id
        self.refresh_tokens: dict[str, str] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.api_calls = 0
        self._n = itertools.count(1)
        self.httpd: ThreadingHTTPServer | None = None
        self.url = ""

    # -- control from tests ----------------------------------------------------------------------

    def start(self) -> OAuthServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if server.fail_status is not None:
                    self.send_response(server.fail_status)
                    self.send_header("Content-Length", "7")
                    self.end_headers()
                    self.wfile.write(b"oh no!\n")
                    return
                status, body = server.handle(self.path, form, self.headers.get("Authorization"))
                self.reply(status, body)

            def do_GET(self) -> None:
                status, body = server.api(self.headers.get(server.header))
                self.reply(status, body)

            def reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def metadata(
        self,
    ) -> tuple[auth_service_pb2.GetOAuth2MetadataResponse, auth_service_pb2.GetPublicClientConfigResponse]:
        return (
            auth_service_pb2.GetOAuth2MetadataResponse(
                issuer=self.url,
                token_endpoint=self.url + "/oauth2/token",
                device_authorization_endpoint=self.url + "/oauth2/device/authorize",
                grant_types_supported=["client_credentials", "urn:ietf:params:oauth:grant-type:device_code"],
            ),
            auth_service_pb2.GetPublicClientConfigResponse(
                client_id=PUBLIC_CLIENT,
                authorization_metadata_key=self.header,
                scopes=list(self.scopes),
                audience=self.audience,
            ),
        )

    def revoke_all(self) -> None:
        with self.lock:
            self.tokens.clear()

    def grants(self, grant_type: str) -> int:
        return sum(1 for path, form in self.requests if form.get("grant_type") == grant_type)

    # -- the endpoints ---------------------------------------------------------------------------

    def _issue(self, client_id: str) -> dict[str, Any]:
        n = next(self._n)
        access = f"access-{n}-{client_id}{self.token_suffix}"
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        self.tokens[access] = client_id
        if self.issue_refresh_tokens:
            refresh = f"refresh-{n}{self.token_suffix}"
            self.refresh_tokens[refresh] = client_id
            body["refresh_token"] = refresh
        return body

    def _basic(self, header: str | None) -> tuple[str, str] | None:
        if not header or not header.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return unquote_plus(user), unquote_plus(password)  # RFC 6749 2.3.1

    def handle(
        self, path: str, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append((path, form))
            if path == "/oauth2/device/authorize":
                if form.get("client_id") != PUBLIC_CLIENT:
                    return 401, {"error": "invalid_client"}
                return 200, {
                    "device_code": "dev-code-1",
                    "user_code": "ABCD-EFGH",
                    "verification_uri": self.url + "/device",
                    "verification_uri_complete": self.url + "/device?user_code=ABCD-EFGH",
                    "expires_in": self.device_expires_in,
                    "interval": self.device_interval,
                }
            if path != "/oauth2/token":
                return 404, {"error": "not_found"}
            grant = form.get("grant_type")
            if grant == "client_credentials":
                creds = self._basic(authorization)
                if creds is None or self.clients.get(creds[0]) != creds[1]:
                    body = {"error": "invalid_client", "error_description": "bad client credentials"}
                    if self.echo_secret_in_errors and creds is not None:
                        body["error_description"] = f"secret {creds[1]} is wrong"
                    return 401, body
                return 200, self._issue(creds[0])
            if grant == "refresh_token":
                client = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
                if client is None:
                    return 400, {"error": "invalid_grant"}
                return 200, self._issue(client)
            if grant == "urn:ietf:params:oauth:grant-type:device_code":
                if form.get("device_code") != "dev-code-1":
                    return 400, {"error": "invalid_grant"}
                step = self.device_script.pop(0) if self.device_script else "pending"
                errors = {
                    "pending": "authorization_pending",
                    "slow_down": "slow_down",
                    "expired": "expired_token",
                    "denied": "access_denied",
                }
                if step in errors:
                    return 400, {"error": errors[step]}
                return 200, self._issue(PUBLIC_CLIENT)
            return 400, {"error": "unsupported_grant_type"}

    def api(self, header: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.api_calls += 1
            if header and header.startswith("Bearer ") and header[7:] in self.tokens:
                return 200, {"ok": True, "client": self.tokens[header[7:]]}
            return 401, {"code": "unauthenticated"}


def call_api(server: OAuthServer, auth: requests.auth.AuthBase) -> requests.Response:
    """What the Connect client does: call, and on 401 refresh once and retry if refresh() says so."""
    response = requests.get(server.url + "/api", auth=auth, timeout=5)
    if response.status_code == 401 and auth.refresh():  # type: ignore[attr-defined]
        response = requests.get(server.url + "/api", auth=auth, timeout=5)
    return response
