"""Every refusal the issue lists, over real HTTP against one ``union serve`` with auth on, each with its code:
no token, wrong token, expired token, revoked key (Connect ``unauthenticated``, 401); a forged signature, an
expired signed URL, a tampered path, MD5 or size (403); wrong bytes for the signed MD5 (400); path
traversal in filenames (``invalid_argument`` when minting, 400 at the PUT). Canary secrets are pushed
through all of them: none may appear in a server log line or in any text a client received."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from auth_helpers import Clock, Served, key_parts
from flyteidl2.dataproxy import dataproxy_service_pb2 as dp

from union import errors
from union.config import Config
from union.transport.connect import ConnectTransport

LIST_RUNS = "/flyteidl2.workflow.RunService/ListRuns"
MINT = "/flyteidl2.dataproxy.DataProxyService/CreateUploadLocation"


class Seen:
    """Every text a client received, to search for canaries at the end."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def keep(self, response: requests.Response) -> requests.Response:
        self.texts.append(response.text + json.dumps(dict(response.headers)))
        return response


def _requery(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return parts._replace(query=urlencode(query)).geturl()


def test_every_refusal_has_its_code_and_no_canary_leaks(served: Served, tmp_path: Path) -> None:
    server, log = served.server, served.log
    seen = Seen()
    key = server.auth.create_api_key("canary", endpoint=server.url)
    _, client_id, secret, _ = key_parts(key)
    token = served.token_for(client_id, secret)

    def call(
        path: str, bearer: str | None, body: dict[str, object] | None = None, *, keep: bool = True
    ) -> requests.Response:
        headers = {"content-type": "application/json"}
        if bearer is not None:
            headers["authorization"] = f"Bearer {bearer}"
        response = requests.post(server.url + path, json=body or {}, headers=headers, timeout=10)
        return seen.keep(response) if keep else response

    def unauthenticated(response: requests.Response) -> None:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "unauthenticated"

    assert call(LIST_RUNS, token).status_code == 200
    unauthenticated(call(LIST_RUNS, None))  # no token
    unauthenticated(call(LIST_RUNS, "CANARY-wrong-token-0123456789"))  # wrong token
    clock = Clock(time.time())
    server.auth.clock = clock
    clock.advance(server.auth.token_ttl + 1)
    unauthenticated(call(LIST_RUNS, token))  # expired token
    clock.advance(-(server.auth.token_ttl + 1))
    assert call(LIST_RUNS, token).status_code == 200

    # Signed URLs: minted through the authenticated Connect API, then used without any token.
    data = b"canary payload"
    md5 = hashlib.md5(data).digest()
    mint = {
        "project": "p",
        "domain": "d",
        "filename": "f.txt",
        "contentMd5": base64.b64encode(md5).decode(),
        "contentLength": str(len(data)),
    }
    minted = call(MINT, token, mint, keep=False)  # the one answer that carries the signature
    assert minted.status_code == 200, minted.text
    url, headers = minted.json()["signedUrl"], minted.json().get("headers", {})
    signature = dict(parse_qsl(urlsplit(url).query))["sig"]

    def put(target: str, body: bytes = data, **extra: str) -> int:
        return seen.keep(
            requests.put(target, data=body, headers={**headers, **extra}, timeout=10)
        ).status_code

    forged = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert put(_requery(url, sig=forged)) == 403  # forged signature
    assert put(url.replace("/f.txt?", "/g.txt?")) == 403  # tampered path
    other_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert put(_requery(url, md5=other_md5), b"other", **{"Content-MD5": other_md5}) == 403  # tampered MD5
    assert put(_requery(url, size=str(len(data) + 1)), data + b"!") == 403  # tampered size
    assert put(url, b"canary paylOad") == 400  # the bytes do not match the signed MD5
    traversal = urlsplit(url)._replace(path="/_data/p/d/%2e%2e/%2e%2e/escape.txt").geturl()
    assert put(traversal) == 400  # traversal in the object path
    for name in ("../escape.txt", "a/../../escape.txt", "/etc/passwd"):  # traversal when minting
        refused = call(MINT, token, {**mint, "filename": name})
        assert refused.status_code == 400 and refused.json()["code"] == "invalid_argument", name
    proxy_clock = [time.time() + 10**6]  # expired signed URL: the server's clock moves past its expiry
    server.dataproxy._clock = lambda: proxy_clock[0]
    assert put(url) == 403
    server.dataproxy._clock = time.time
    assert put(url) == 200  # the same URL, untampered and in time, works
    assert not list(tmp_path.rglob("escape.txt")) and not list(tmp_path.rglob("g.txt"))

    # Revoked key: its tokens stop working at once, through our own client too.
    server.auth.revoke_api_key("canary")
    unauthenticated(call(LIST_RUNS, token))
    with (
        ConnectTransport(Config(endpoint=server.url, insecure=True, api_key=key)) as transport,
        pytest.raises(errors.UnauthenticatedError) as info,
    ):
        transport.create_upload_location(
            dp.CreateUploadLocationRequest(project="p", domain="d", filename="x")
        )
    seen.texts.append(str(info.value))

    server.stop()
    text = log.getvalue() + "\n".join(seen.texts)
    assert '"status":401' in log.getvalue() and '"status":403' in log.getvalue()
    for canary in (key, secret, token, signature, forged, "CANARY-wrong-token"):
        assert canary not in text
