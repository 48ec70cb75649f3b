"""Helpers for the auth tests: requests built without sockets, a clock moved by hand, API key parsing."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from union.auth.apikey import decode_api_key
from union.server.app import Server
from union.server.auth import ServerAuth
from union.server.exchange import Headers, Request, Response

BASE = "http://127.0.0.1:9999"


class Clock:
    """A clock tests move by hand, so expiry is tested without sleeping."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def request(
    method: str,
    path: str,
    *,
    form: Mapping[str, str] | None = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Request:
    split = urlsplit(path)
    hdrs = Headers(headers or {})
    if form is not None:
        body = urlencode(form).encode()
        hdrs.setdefault("content-type", "application/x-www-form-urlencoded")
    data = body or b""
    return Request(
        method=method,
        path=split.path,
        query=parse_qs(split.query),
        headers=hdrs,
        stream=io.BytesIO(data),
        content_length=len(data),
    )


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def body(response: Response) -> Any:
    assert isinstance(response.body, bytes)
    return json.loads(response.body)


def key_parts(key: str) -> tuple[str, str, str, str]:
    parts = decode_api_key(key)
    return parts.endpoint, parts.client_id, parts.client_secret, parts.org


def token_response(auth: ServerAuth, key: str) -> Any:
    """The token endpoint's answer to a client-credentials grant with an API key's id and secret."""
    _, client_id, secret, _ = key_parts(key)
    return auth.handle(
        request(
            "POST",
            "/oauth2/token",
            form={"grant_type": "client_credentials"},
            headers=basic(client_id, secret),
        )
    )


def client_token(auth: ServerAuth, key: str) -> str:
    response = token_response(auth, key)
    assert response.status == 200, response.body
    token: str = body(response)["access_token"]
    return token


class Served:
    def __init__(self, server: Server, log: io.StringIO) -> None:
        self.server = server
        self.url = server.url
        self.auth: Any = server.auth
        self.log = log
        self.seen: list[str] = []  # every error text a client received

    def call(self, path: str, token: str | None = None, **headers: str) -> requests.Response:
        hdrs = {"content-type": "application/json", **headers}
        if token is not None:
            hdrs["authorization"] = f"Bearer {token}"
        response = requests.post(self.url + path, data=b"{}", headers=hdrs, timeout=10)
        self.seen.append(response.text)
        return response

    def token(self, key: str) -> str:
        """An access token for an API key, from the client-credentials grant."""
        _, client_id, secret, _ = key_parts(key)
        return self.token_for(client_id, secret)

    def token_for(self, client_id: str, secret: str) -> str:
        response = requests.post(
            self.url + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token
