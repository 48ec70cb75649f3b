"""The flyteidl2 methods the Connect client speaks: path, message classes, streaming, retry safety.

Names and message classes match flyteidl2's generated ``*_connect.py`` stubs (which the interop tests
exercise). Message modules are imported on first use so ``import union`` stays light. ``idempotent``
marks methods safe to send twice (reads, and minting URLs): only those are retried after a request may
have reached the server; the rest are retried only when the server said it did not process them
(HTTP 429 / 503) or the connection was never made.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

RUN = "flyteidl2.workflow.RunService"
LOGS = "flyteidl2.workflow.RunLogsService"
TASK = "flyteidl2.task.TaskService"
DATAPROXY = "flyteidl2.dataproxy.DataProxyService"
AUTH = "flyteidl2.auth.AuthMetadataService"
IDENTITY = "flyteidl2.auth.IdentityService"

_MODULES = {
    RUN: "flyteidl2.workflow.run_service_pb2",
    LOGS: "flyteidl2.workflow.run_logs_service_pb2",
    TASK: "flyteidl2.task.task_service_pb2",
    DATAPROXY: "flyteidl2.dataproxy.dataproxy_service_pb2",
    AUTH: "flyteidl2.auth.auth_service_pb2",
    IDENTITY: "flyteidl2.auth.identity_pb2",
}


@dataclass(frozen=True)
class Method:
    """One RPC. ``resumable`` streams may be reopened after a drop (the server re-sends current state)."""

    service: str
    name: str
    streaming: bool = False
    idempotent: bool = False
    resumable: bool = False
    authenticated: bool = True

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def module(self) -> str:
        return _MODULES[self.service]

    def request_class(self) -> Any:
        return getattr(importlib.import_module(self.module), f"{self.name}Request")

    def response_class(self) -> Any:
        return getattr(importlib.import_module(self.module), f"{self.name}Response")


def _m(service: str, name: str, **kw: bool) -> Method:
    return Method(service, name, **kw)


# Keyed by the Transport method name (the snake_case of the RPC).
METHODS: dict[str, Method] = {
    "create_run": _m(RUN, "CreateRun"),
    "get_run_details": _m(RUN, "GetRunDetails", idempotent=True),
    "watch_run_details": _m(RUN, "WatchRunDetails", streaming=True, idempotent=True, resumable=True),
    "list_runs": _m(RUN, "ListRuns", idempotent=True),
    "abort_run": _m(RUN, "AbortRun"),
    "list_actions": _m(RUN, "ListActions", idempotent=True),
    "get_action_details": _m(RUN, "GetActionDetails", idempotent=True),
    "watch_action_details": _m(RUN, "WatchActionDetails", streaming=True, idempotent=True, resumable=True),
    "get_action_data": _m(RUN, "GetActionData", idempotent=True),
    "tail_logs": _m(LOGS, "TailLogs", streaming=True, idempotent=True, resumable=True),
    "deploy_task": _m(TASK, "DeployTask"),
    "get_task_details": _m(TASK, "GetTaskDetails", idempotent=True),
    "list_tasks": _m(TASK, "ListTasks", idempotent=True),
    "create_upload_location": _m(DATAPROXY, "CreateUploadLocation", idempotent=True),
    "upload_inputs": _m(DATAPROXY, "UploadInputs"),
    "create_download_link": _m(DATAPROXY, "CreateDownloadLink", idempotent=True),
    "get_oauth2_metadata": _m(AUTH, "GetOAuth2Metadata", idempotent=True, authenticated=False),
    "get_public_client_config": _m(AUTH, "GetPublicClientConfig", idempotent=True, authenticated=False),
    "user_info": _m(IDENTITY, "UserInfo", idempotent=True),
}

BY_PATH: dict[str, Method] = {m.path: m for m in METHODS.values()}
