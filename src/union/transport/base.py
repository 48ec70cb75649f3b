"""The Transport protocol: the flyteidl2 services a control plane offers, one method per RPC.

Each method takes and returns the official flyteidl2 request and response messages, so the embedded
engine, the Connect client and ``union serve`` agree field for field with Flyte 2 / Union, and ``Run`` and
``Task`` never need to know which one they talk to. Streaming RPCs return iterators. Every call takes an
optional ``timeout`` in seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from flyteidl2.auth import auth_service_pb2 as auth
    from flyteidl2.auth import identity_pb2 as identity
    from flyteidl2.dataproxy import dataproxy_service_pb2 as dataproxy
    from flyteidl2.task import task_service_pb2 as tasks
    from flyteidl2.workflow import run_logs_service_pb2 as logs
    from flyteidl2.workflow import run_service_pb2 as runs

    from union.config import Config


@runtime_checkable
class Transport(Protocol):
    """A control plane: flyteidl2.workflow.RunService, flyteidl2.task.TaskService, the data proxy, logs, auth."""

    # flyteidl2.workflow.RunService
    def create_run(
        self, request: runs.CreateRunRequest, *, timeout: float | None = None
    ) -> runs.CreateRunResponse: ...

    def get_run_details(
        self, request: runs.GetRunDetailsRequest, *, timeout: float | None = None
    ) -> runs.GetRunDetailsResponse: ...

    def watch_run_details(
        self, request: runs.WatchRunDetailsRequest, *, timeout: float | None = None
    ) -> Iterator[runs.WatchRunDetailsResponse]: ...

    def list_runs(
        self, request: runs.ListRunsRequest, *, timeout: float | None = None
    ) -> runs.ListRunsResponse: ...

    def abort_run(
        self, request: runs.AbortRunRequest, *, timeout: float | None = None
    ) -> runs.AbortRunResponse: ...

    def list_actions(
        self, request: runs.ListActionsRequest, *, timeout: float | None = None
    ) -> runs.ListActionsResponse: ...

    def get_action_details(
        self, request: runs.GetActionDetailsRequest, *, timeout: float | None = None
    ) -> runs.GetActionDetailsResponse: ...

    def watch_action_details(
        self, request: runs.WatchActionDetailsRequest, *, timeout: float | None = None
    ) -> Iterator[runs.WatchActionDetailsResponse]: ...

    def get_action_data(
        self, request: runs.GetActionDataRequest, *, timeout: float | None = None
    ) -> runs.GetActionDataResponse: ...

    # flyteidl2.task.TaskService
    def deploy_task(
        self, request: tasks.DeployTaskRequest, *, timeout: float | None = None
    ) -> tasks.DeployTaskResponse: ...

    def get_task_details(
        self, request: tasks.GetTaskDetailsRequest, *, timeout: float | None = None
    ) -> tasks.GetTaskDetailsResponse: ...

    def list_tasks(
        self, request: tasks.ListTasksRequest, *, timeout: float | None = None
    ) -> tasks.ListTasksResponse: ...

    # flyteidl2.dataproxy.DataProxyService
    def create_upload_location(
        self, request: dataproxy.CreateUploadLocationRequest, *, timeout: float | None = None
    ) -> dataproxy.CreateUploadLocationResponse: ...

    def upload_inputs(
        self, request: dataproxy.UploadInputsRequest, *, timeout: float | None = None
    ) -> dataproxy.UploadInputsResponse: ...

    def create_download_link(
        self, request: dataproxy.CreateDownloadLinkRequest, *, timeout: float | None = None
    ) -> dataproxy.CreateDownloadLinkResponse: ...

    # flyteidl2.auth.AuthMetadataService (answered without credentials) and IdentityService
    def get_oauth2_metadata(
        self, request: auth.GetOAuth2MetadataRequest, *, timeout: float | None = None
    ) -> auth.GetOAuth2MetadataResponse: ...

    def get_public_client_config(
        self, request: auth.GetPublicClientConfigRequest, *, timeout: float | None = None
    ) -> auth.GetPublicClientConfigResponse: ...

    def user_info(
        self, request: identity.UserInfoRequest, *, timeout: float | None = None
    ) -> identity.UserInfoResponse: ...

    # flyteidl2.workflow.RunLogsService
    def tail_logs(
        self, request: logs.TailLogsRequest, *, timeout: float | None = None
    ) -> Iterator[logs.TailLogsResponse]: ...

    def close(self) -> None: ...


def transport_for(config: Config) -> Transport:
    """Ask the plugins for the transport that serves ``config`` (the embedded engine by default)."""
    from union.errors import TransportError
    from union.plugins import hook

    found = hook().union_transport(config=config)
    if found is None:
        raise TransportError(
            f"no installed plugin provides a transport for endpoint {config.endpoint!r}. "
            "Unset the endpoint to use the embedded local control plane, or install the plugin for "
            "your deployment."
        )
    return found  # type: ignore[no-any-return]
