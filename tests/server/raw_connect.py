"""A deliberately naive Connect client over raw ``requests``, for testing ``union serve`` at the wire level.

It does what the protocol spec says and nothing more (no retries, no auth logic), so a test failure points
at the server. ``RawConnect(url).list_tasks(msg)`` posts ``/flyteidl2.task.TaskService/ListTasks``.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import requests

from union.server.connect_routes import Method, service_methods
from union.transport import wire

SERVICES = (
    "flyteidl2.workflow.RunService",
    "flyteidl2.task.TaskService",
    "flyteidl2.workflow.RunLogsService",
    "flyteidl2.dataproxy.DataProxyService",
    "flyteidl2.auth.AuthMetadataService",
    "flyteidl2.auth.IdentityService",
)


def methods() -> dict[str, Method]:
    import union.server.connect_routes as cr

    cr._import_services()
    found: dict[str, Method] = {}
    for service in SERVICES:
        for m in service_methods(service):
            # RunService wins for names two services share (GetActionData, TailLogs).
            found.setdefault(m.attr, m)
    return found


class RawError(Exception):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class RawConnect:
    def __init__(
        self,
        url: str,
        *,
        codec: str = "json",
        gzip_requests: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.json = codec == "json"
        self.gzip_requests = gzip_requests
        self.session = requests.Session()
        self.headers = dict(headers or {})
        self.methods = methods()

    def __getattr__(self, name: str) -> Any:
        method = self.__dict__.get("methods", {}).get(name)
        if method is None:
            raise AttributeError(name)

        def call(message: Any, *, timeout: float | None = None) -> Any:
            if method.streaming:
                return self.stream(method, message, timeout=timeout)
            return self.unary(method, message, timeout=timeout)

        return call

    def unary(self, method: Method, message: Any, *, timeout: float | None = None) -> Any:
        body = wire.encode_message(message, json_format=self.json)
        headers = {
            "Content-Type": wire.UNARY_JSON if self.json else wire.UNARY_PROTO,
            "Connect-Protocol-Version": "1",
            "Accept-Encoding": "gzip",
            **self.headers,
        }
        if self.gzip_requests:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        if timeout is not None:
            headers[wire.TIMEOUT_HEADER] = wire.timeout_header(timeout)
        r = self.session.post(self.url + method.path, data=body, headers=headers, timeout=30)
        if r.status_code != 200:
            data = r.json()
            raise RawError(data["code"], data.get("message", ""), r.status_code)
        return wire.decode_message(r.content, method.output, json_format=self.json)

    def stream(self, method: Method, message: Any, *, timeout: float | None = None) -> Iterator[Any]:
        payload = wire.encode_message(message, json_format=self.json)
        flags = 0
        headers = {
            "Content-Type": wire.STREAM_JSON if self.json else wire.STREAM_PROTO,
            "Connect-Protocol-Version": "1",
            wire.STREAM_ACCEPT_ENCODING_HEADER: "gzip",
            **self.headers,
        }
        if self.gzip_requests:
            payload = gzip.compress(payload)
            flags = wire.FLAG_COMPRESSED
            headers[wire.STREAM_ENCODING_HEADER] = "gzip"
        if timeout is not None:
            headers[wire.TIMEOUT_HEADER] = wire.timeout_header(timeout)
        r = self.session.post(
            self.url + method.path,
            data=wire.envelope(payload, flags=flags),
            headers=headers,
            stream=True,
            timeout=60,
        )
        assert r.status_code == 200, r.status_code
        for frame in wire.read_frames(r.iter_content(None)):
            data = frame.payload
            if frame.compressed:
                data = gzip.decompress(data)
            if frame.end:
                end = json.loads(data)
                if end.get("error"):
                    raise RawError(end["error"]["code"], end["error"].get("message", ""), 200)
                return
            yield wire.decode_message(data, method.output, json_format=self.json)
        raise AssertionError("the stream ended without an end-of-stream frame")
