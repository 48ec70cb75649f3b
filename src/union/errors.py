"""Every error the library raises on purpose, so callers can catch by kind.

Each message names the problem and the fix. Classes also derive from the builtin a caller would
naturally catch (``FileNotFoundError``, ``ValueError``, ``ImportError``) so generic handlers still work.
"""

from __future__ import annotations


class UnionError(Exception):
    """Base of every error raised on purpose by ``union``."""


# -- configuration ---------------------------------------------------------------------------------


class ConfigError(UnionError, ValueError):
    """A setting is malformed or unknown: the message names the source, the key and the fix."""


# -- plugins ---------------------------------------------------------------------------------------


class PluginError(UnionError):
    """A plugin failed to load or misbehaved: the message names the plugin."""


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
    """The control plane could not be reached or answered with an error."""
