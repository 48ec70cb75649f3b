"""Every bad input to an upload gets its own typed error, and nothing half-done becomes visible."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest

import union
from union.cli.main import main
from union.errors import (
    ConfigError,
    MissingExtraError,
    NotADirectoryUploadError,
    NotAFileError,
    SourceChangedError,
    SpecialFileError,
    StorageOptionsError,
    SymlinkEscapeError,
    SymlinkLoopError,
    UnknownProtocolError,
    UploadPathNotFoundError,
)
from union.remote import upload_dir, upload_file
from union.storage import transfer
from union.storage.hashcache import default_cache
from union.storage.progress import UploadProgress
from upload_cases import make_tree


@pytest.fixture
def store(tmp_path):
    union.init(raw_data_prefix=(tmp_path / "store").as_uri())
    return tmp_path / "store" / "default" / "development"


def visible_entries(store: Path) -> list[str]:
    if not store.exists():
        return []
    return sorted(p.name for p in store.iterdir() if p.name != transfer.STAGING)


def test_missing_path(store, tmp_path):
    with pytest.raises(UploadPathNotFoundError, match="does not exist"):
        upload_file(tmp_path / "nope.txt")
    with pytest.raises(UploadPathNotFoundError, match="does not exist"):
        upload_dir(tmp_path / "nope")


def test_directory_to_upload_file_and_file_to_upload_dir(store, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotAFileError, match="is a directory. Use upload_dir"):
        upload_file(tmp_path / "d")
    with pytest.raises(NotADirectoryUploadError, match="is a file, not a directory. Use upload_file"):
        upload_dir(tmp_path / "f")


UNREADABLE = """
import sys, union
from union.errors import UnreadableFileError
from union.remote import upload_dir, upload_file
union.init(raw_data_prefix=sys.argv[2])
for call, arg in ((upload_file, sys.argv[1] + "/secret.txt"), (upload_dir, sys.argv[1])):
    try:
        call(arg)
    except UnreadableFileError as exc:
        print("UnreadableFileError:", exc)
    else:
        print("uploaded")
"""


def test_unreadable_file(store, tmp_path):
    tree = make_tree(tmp_path / "tree")
    secret = tree / "secret.txt"
    secret.write_text("top secret")
    secret.chmod(0)
    command = [sys.executable, "-c", UNREADABLE, str(tree), (tmp_path / "store").as_uri()]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        command = [
            setpriv,
            "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search",
            "--",
            *command,
        ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, env=os.environ).stdout
    lines = out.strip().splitlines()
    assert len(lines) == 2, out
    assert all(line.startswith("UnreadableFileError:") and "secret.txt" in line for line in lines), out
    assert "permission denied" in out


def test_symlink_escape_is_refused(store, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("private")
    tree = make_tree(tmp_path / "tree")
    (tree / "nested" / "escape").symlink_to(outside)
    with pytest.raises(SymlinkEscapeError, match="outside the uploaded directory.*allow_outside_symlinks"):
        upload_dir(tree)
    assert visible_entries(store) == []


def test_symlink_loop_is_refused(store, tmp_path):
    tree = make_tree(tmp_path / "tree")
    (tree / "nested" / "deeper" / "up").symlink_to("../..", target_is_directory=True)
    with pytest.raises(SymlinkLoopError, match="loop"):
        upload_dir(tree)
    with pytest.raises(SymlinkLoopError):  # allowing outside links does not allow loops
        upload_dir(tree, allow_outside_symlinks=True)


def test_broken_symlink_is_refused(store, tmp_path):
    tree = make_tree(tmp_path / "tree")
    (tree / "dangling").symlink_to(tmp_path / "gone")
    with pytest.raises(UploadPathNotFoundError, match="does not exist"):
        upload_dir(tree)


def _socket_at(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    return sock


@pytest.mark.timeout(5)
@pytest.mark.parametrize("kind", ["fifo", "socket", "character device"])
def test_upload_file_refuses_special_files_without_opening_them(store, tmp_path, kind):
    """A FIFO used to block upload_file forever in open(); now each kind fails at once, by name."""
    target = tmp_path / "special"
    sock = None
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        sock = _socket_at(target)
    else:
        target = Path(os.devnull)
    try:
        with pytest.raises(SpecialFileError, match=f"{target} is a {kind}, not a regular file") as info:
            upload_file(target)
        assert (info.value.path, info.value.kind) == (str(target), kind)
        with pytest.raises(SpecialFileError, match=f"upload_dir: {target} is a {kind}"):
            upload_dir(target)
    finally:
        if sock is not None:
            sock.close()
    assert visible_entries(store) == []


@pytest.mark.timeout(5)
def test_upload_file_of_a_dangling_symlink_names_the_link(store, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(UploadPathNotFoundError, match=f"{link} is a symlink to .*gone, which does not exist"):
        upload_file(link)


@pytest.mark.timeout(5)
@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_special_files_inside_a_tree_are_refused(store, tmp_path, kind):
    """The rule: a tree holding a FIFO, socket or device is refused (exclude= leaves it out)."""
    tree = make_tree(tmp_path / "tree")
    special = tree / "nested" / "special"
    sock = _socket_at(special) if kind == "socket" else None
    if kind == "fifo":
        os.mkfifo(special)
    try:
        with pytest.raises(SpecialFileError, match=f"{special} is a {kind}.*exclude=") as info:
            upload_dir(tree)
        assert info.value.path == str(special)
        assert visible_entries(store) == []
        upload_dir(tree, exclude=["nested/special"])  # left out, the rest uploads
    finally:
        if sock is not None:
            sock.close()


def test_unknown_protocol(tmp_path):
    union.init(raw_data_prefix="nosuch://bucket/data")
    (tmp_path / "f").write_text("x")
    with pytest.raises(
        UnknownProtocolError, match=r"no storage backend for nosuch://\. Known protocols: .*s3"
    ):
        upload_file(tmp_path / "f")


def test_missing_extra_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # makes `import s3fs` fail like an absent package
    union.init(raw_data_prefix="s3://bucket/data")
    (tmp_path / "f").write_text("x")
    with pytest.raises(MissingExtraError, match=r"pip install 'union\[s3\]'"):
        upload_file(tmp_path / "f")


@pytest.mark.parametrize(
    ("prefix", "options", "fragment"),
    [
        (
            "s3://bucket/data",
            {"endpont_url": "http://x"},
            "does not take the storage option(s) endpont_url. Did you mean 'endpoint_url'",
        ),
        ("memory://bucket/data", {"colour": "blue"}, "does not take the storage option(s) colour"),
    ],
)
def test_bad_storage_options(tmp_path, prefix, options, fragment):
    union.init(raw_data_prefix=prefix, storage_options=options)
    (tmp_path / "f").write_text("x")
    with pytest.raises(StorageOptionsError) as info:
        upload_file(tmp_path / "f")
    assert fragment in str(info.value)


def test_bad_config_file_surfaces_on_upload(tmp_path, monkeypatch):
    bad = tmp_path / "config.yaml"
    bad.write_text("storage:\n  raw_data_prefx: s3://x\n")
    monkeypatch.setenv("UNION_CONFIG", str(bad))
    (tmp_path / "f").write_text("x")
    with pytest.raises(
        ConfigError, match=r"unknown key storage.raw_data_prefx. Did you mean 'raw_data_prefix'"
    ):
        upload_file(tmp_path / "f")


def _grow_on_first_bytes(path: Path):
    done = False

    def progress(p: UploadProgress) -> None:
        nonlocal done
        if p.phase == "uploading" and p.bytes_done and not done:
            done = True
            with open(path, "ab") as f:
                f.write(b"appended while uploading")

    return progress


@pytest.mark.parametrize("backend", ["local", "memory"])
def test_a_file_changing_during_upload_file_is_an_error(tmp_path, backend):
    prefix = (tmp_path / "store").as_uri() if backend == "local" else "memory://changing/data"
    union.init(raw_data_prefix=prefix)
    src = tmp_path / "growing.bin"
    src.write_bytes(os.urandom(transfer.SINGLE_PUT_MAX + 3 * transfer.CHUNK))
    with pytest.raises(SourceChangedError, match="changed while it was being uploaded"):
        upload_file(src, progress=_grow_on_first_bytes(src))
    if backend == "local":
        assert visible_entries(tmp_path / "store" / "default" / "development") == []
    else:
        assert fsspec.filesystem("memory").find("/changing") == []


def test_a_file_changing_during_upload_dir_leaves_no_visible_tree(store, tmp_path):
    tree = make_tree(tmp_path / "tree", big=3 * transfer.CHUNK)
    with pytest.raises(SourceChangedError):
        upload_dir(tree, progress=_grow_on_first_bytes(tree / "big.bin"))
    assert not [p for p in visible_entries(store) if p.endswith(".manifest.json")]


def test_damaged_hash_cache_is_replaced(store, tmp_path, isolated_user):
    src = tmp_path / "f.txt"
    src.write_text("content")
    first = upload_file(src)
    from union.storage import hashcache

    default_cache().close()
    hashcache._cache = None
    db = isolated_user / "cache" / "hashes.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    assert upload_file(src) == first


def test_cli_upload_reports_errors_with_exit_status(tmp_path, capsys):
    assert main(["upload", str(tmp_path / "missing")]) == 1
    assert "does not exist" in capsys.readouterr().err
    tree = make_tree(tmp_path / "tree")
    assert main(["--config", str(_config(tmp_path)), "upload", "--json", "--no-progress", str(tree)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"digest", "uri"} and "/cli-project/" in result["uri"]


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "cli.yaml"
    path.write_text(
        f"task:\n  project: cli-project\nstorage:\n  raw_data_prefix: {(tmp_path / 's').as_uri()}\n"
    )
    return path
