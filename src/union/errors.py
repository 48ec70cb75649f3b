"""Every error the library raises on purpose, so callers can catch by kind.

Each message names the problem and the fix. Classes also derive from the builtin a caller would
naturally catch (``FileNotFoundError``, ``ValueError``, ``ImportError``) so generic handlers still work.
"""

from __future__ import annotations


class UnionError(Exception):
    """Base of every error raised on purpose by ``union``."""


# -- arguments -------------------------------------------------------------------------------------


class ArgumentTypeError(UnionError, TypeError):
    """An argument has the wrong type: the message names the call, the argument, what it expects and
    the type it got."""


class ArgumentValueError(UnionError, ValueError):
    """An argument has the right type but a value the call cannot use (a ``limit`` of 0, say)."""


# -- configuration ---------------------------------------------------------------------------------


class ConfigError(UnionError, ValueError):
    """A setting is malformed or unknown: the message names the source, the key and the fix."""


# -- plugins ---------------------------------------------------------------------------------------


class PluginError(UnionError):
    """A plugin failed to load or misbehaved: the message names the plugin."""


class UnknownPluginError(PluginError, ConfigError):
    """``UNION_PLUGINS`` or ``UNION_DISABLE_PLUGINS`` names no installed plugin: the message lists them."""


# -- storage ---------------------------------------------------------------------------------------


class StorageError(UnionError):
    """Something went wrong while resolving or talking to a storage backend."""


class UnknownProtocolError(StorageError, ValueError):
    """A URI uses a protocol no installed plugin provides."""


class MissingExtraError(StorageError, ImportError):
    """A protocol's fsspec implementation is not installed: the message names the extra."""


class StorageOptionsError(StorageError, ValueError):
    """The storage options given for a backend were rejected by it."""


class UploadError(StorageError):
    """An upload could not be completed; nothing partial was made visible."""


class UploadPathNotFoundError(UploadError, FileNotFoundError):
    """The local path given to an upload does not exist."""


class NotAFileError(UploadError, IsADirectoryError):
    """``upload_file`` was given a directory."""


class NotADirectoryUploadError(UploadError, NotADirectoryError):
    """``upload_dir`` was given a file."""


class UnreadableFileError(UploadError, PermissionError):
    """A local file cannot be read."""


class SpecialFileError(UploadError):
    """An upload met a FIFO, socket or device file: reading one could block forever or never end.

    ``path`` and ``kind`` (``"fifo"``, ``"socket"``, ``"character device"``, ``"block device"``) name it.
    """

    def __init__(self, message: str, *, path: str = "", kind: str = "") -> None:
        self.path = path
        self.kind = kind
        super().__init__(message)


class SymlinkEscapeError(UploadError):
    """A symlink inside an uploaded directory points outside of it."""


class SymlinkLoopError(UploadError):
    """Symlinks inside an uploaded directory form a loop."""


class SourceChangedError(UploadError):
    """A local file changed while it was being uploaded."""


class IntegrityError(UploadError):
    """The backend holds different bytes than were sent (size or checksum mismatch)."""


# -- control plane ---------------------------------------------------------------------------------


class TransportError(UnionError):
    """The control plane could not be reached or answered with an error.

    ``code`` is the Connect error code (``"unavailable"``, ``"not_found"``...) when one is known.
    """

    code = "unknown"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        super().__init__(message)


class InvalidArgumentError(TransportError, ValueError):
    """The control plane rejected a request as malformed (INVALID_ARGUMENT, FAILED_PRECONDITION...)."""

    code = "invalid_argument"


class UnauthenticatedError(TransportError):
    """No valid credential was presented (UNAUTHENTICATED): the message says which auth to configure."""

    code = "unauthenticated"


class PermissionDeniedError(TransportError, PermissionError):
    """The credential is valid but may not do this (PERMISSION_DENIED)."""

    code = "permission_denied"


class UnavailableError(TransportError, ConnectionError):
    """The control plane could not be reached or is overloaded (UNAVAILABLE, RESOURCE_EXHAUSTED)."""

    code = "unavailable"


class UnimplementedError(TransportError, NotImplementedError):
    """The control plane does not offer this method (UNIMPLEMENTED)."""

    code = "unimplemented"


class NotFoundError(TransportError, LookupError):
    """The control plane has no such run, action or task (a transport raises it for NOT_FOUND)."""

    code = "not_found"


class AlreadyExistsError(TransportError):
    """The control plane already holds an entity with this identifier (ALREADY_EXISTS)."""

    code = "already_exists"


# -- runs and tasks --------------------------------------------------------------------------------


class RunNotFoundError(NotFoundError):
    """No run has this name (or URI) in the project and domain searched."""


class TaskNotFoundError(NotFoundError):
    """No task has this name (and version) in the project and domain searched."""


class InvalidURIError(UnionError, ValueError):
    """A ``union://`` URI of a run or task is malformed: the message shows the accepted forms."""


class TaskDefinitionError(UnionError, TypeError):
    """``@union.task`` was applied to something that cannot be a task (not a plain function)."""


class RunFailedError(UnionError):
    """A run failed with an exception that cannot be rebuilt here; ``code`` names the remote type."""

    def __init__(self, message: str, *, code: str = "", kind: str = "", run: str = "") -> None:
        self.code = code
        self.kind = kind
        self.run = run
        super().__init__(message)


class RunAbortedError(RunFailedError):
    """The run was cancelled before it finished, so it has no outputs."""


class RunTimedOutError(RunFailedError, TimeoutError):
    """The run hit its task's timeout on the control plane."""


class RunInsideTaskError(UnionError, RuntimeError):
    """A run was started while the engine was importing or running a task's module.

    A script whose module-level code calls ``union.run`` would start a new run every time a worker
    imports it, each of whose workers would start another: the call belongs under
    ``if __name__ == "__main__":``.
    """


class RunNotDoneError(UnionError):
    """The run has not reached a terminal phase yet, so it has no outputs or error to show."""


class RunWaitTimeoutError(UnionError, TimeoutError):
    """``Run.wait`` gave up before the run finished; the run itself keeps going."""


class DeadlineExceededError(TransportError, TimeoutError):
    """A call's ``timeout`` expired before the control plane answered (a watch stream included)."""

    code = "deadline_exceeded"


class EngineStateError(TransportError):
    """The embedded engine's state cannot be used (a damaged database): the message names the file."""
