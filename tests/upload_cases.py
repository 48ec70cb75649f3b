"""Trees to upload and the checks every backend must pass, shared by the local and server tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from union.config import Config
from union.storage.manifest import SUFFIX, Manifest
from union.storage.progress import UploadProgress
from union.storage.protocols import filesystem_for


def make_tree(root: Path, *, big: int = 0) -> Path:
    """Nested dirs, unicode and space names, an empty file, an empty dir; ``big`` adds a file of that size."""
    files = {
        "a.txt": b"alpha\n",
        "empty.bin": b"",
        "nested/deeper/b.csv": b"x,y\n1,2\n" * 100,
        "nested/ünïcødé name.txt": "grüße, 世界\n".encode(),
        "with space/c d.bin": bytes(range(256)) * 40,
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "empty dir").mkdir()
    if big:
        (root / "big.bin").write_bytes(os.urandom(big))
    return root


def many_files(root: Path, count: int, size: int = 1024) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"f{i:04d}.bin").write_bytes(i.to_bytes(4, "big") * (size // 4))
    return root


def assert_tree_stored(config: Config, uri: str, local: Path) -> Manifest:
    """Every local file is stored byte for byte under ``uri`` and the manifest lists exactly them."""
    fs, _, tree = filesystem_for(uri, config.storage_options)
    manifest = Manifest.from_bytes(fs.cat_file(tree + SUFFIX), expected_digest=tree.rsplit("/", 1)[-1])
    listed = [(Path(d), names) for d, _, names in os.walk(local, followlinks=True)]
    expected = sorted((d / n).relative_to(local).as_posix() for d, names in listed for n in names)
    assert [e.path for e in manifest.files] == expected
    for rel in expected:
        assert fs.cat_file(f"{tree}/{rel}") == (local / rel).read_bytes(), rel
    empty = sorted(
        Path(d).relative_to(local).as_posix()
        for d, dirs, names in os.walk(local, followlinks=True)
        if not dirs and not names and Path(d) != local
    )
    assert list(manifest.empty_dirs) == empty
    return manifest


class Recorder:
    """A progress callback that keeps the last snapshot of each phase."""

    def __init__(self) -> None:
        self.last: dict[str, UploadProgress] = {}

    def __call__(self, p: UploadProgress) -> None:
        self.last[p.phase] = p

    @property
    def uploaded(self) -> UploadProgress:
        return self.last["uploading"]


KILLER = textwrap.dedent("""
    import json, os, signal, sys
    from union.config import resolve
    from union.storage.upload import upload_dir

    settings = json.loads(sys.argv[2])
    after = int(sys.argv[3])

    def progress(p):
        if p.phase == "uploading" and p.files_done - p.files_skipped >= after:
            os.kill(os.getpid(), signal.SIGKILL)

    upload_dir(sys.argv[1], config=resolve(**settings), progress=progress)
    print("finished without being killed")
""")


FILE_KILLER = textwrap.dedent("""
    import json, os, signal, sys
    from union.config import resolve
    from union.storage.upload import upload_file

    def progress(p):
        if p.phase == "uploading" and p.bytes_done:
            os.kill(os.getpid(), signal.SIGKILL)

    upload_file(sys.argv[1], config=resolve(**json.loads(sys.argv[2])), progress=progress)
    print("finished without being killed")
""")


def upload_file_killed_midway(path: Path, settings: dict[str, Any]) -> None:
    """Run upload_file in a child process that SIGKILLs itself once the first bytes were sent."""
    proc = subprocess.run(
        [sys.executable, "-c", FILE_KILLER, str(path), json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)


def upload_dir_killed_after(path: Path, settings: dict[str, Any], files: int) -> None:
    """Run upload_dir in a child process that SIGKILLs itself after ``files`` files were sent."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER,
            str(path),
            json.dumps({**settings, "upload_concurrency": 1}),
            str(files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stdout, proc.stderr)
