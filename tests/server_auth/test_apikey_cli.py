"""``union create/get/delete api-key`` on a data directory: output, --json, the key printed once, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from auth_helpers import body, client_token, key_parts, token_response

from union.cli.main import main
from union.server.auth import ServerAuth, default_server_dir


def test_create_prints_the_key_once_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["create", "api-key", "--name", "ci", "--data-dir", str(tmp_path), "--org", "acme"]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert out.count(key) == 1 and key not in err
    assert "shown only this once" in err
    endpoint, client_id, _secret, org = key_parts(key)
    assert (endpoint, org) == ("http://127.0.0.1:8080", "acme") and client_id.startswith("ci-")
    # The key works against a server on that data directory.
    auth = ServerAuth(data_dir=tmp_path, public_url=endpoint, enabled=True, failure_delay=0)
    assert client_token(auth, key)
    auth.close()


def test_create_with_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "create",
        "api-key",
        "--name",
        "ci",
        "--data-dir",
        str(tmp_path),
        "--endpoint",
        "https://u.example:443",
    ]
    assert main(args) == 0
    assert key_parts(capsys.readouterr().out.strip())[0] == "https://u.example:443"


def test_get_lists_without_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["get", "api-key", *data]) == 0
    assert "no API keys" in capsys.readouterr().err
    main(["create", "api-key", "--name", "alpha", *data])
    main(["create", "api-key", "--name", "beta", *data])
    keys = capsys.readouterr().out.split()
    assert main(["get", "api-key", *data]) == 0
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split() == ["NAME", "CLIENT", "ID", "CREATED"]
    assert [line.split()[0] for line in lines[2:]] == ["alpha", "beta"]
    assert main(["get", "api-key", "--json", *data]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["name"] for k in listed] == ["alpha", "beta"]
    assert set(listed[0]) == {"name", "client_id", "created_at", "revoked_at"}
    assert listed[0]["client_id"] == key_parts(keys[0])[1] and listed[0]["revoked_at"] is None
    for key in keys:
        secret = key_parts(key)[2]
        assert secret not in table and key not in table and secret not in json.dumps(listed)


def test_delete_revokes_and_unknown_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    main(["create", "api-key", "--name", "ci", *data])
    key = capsys.readouterr().out.strip()
    assert main(["delete", "api-key", "ci", *data]) == 0
    assert "Deleted API key 'ci'" in capsys.readouterr().out
    assert main(["delete", "api-key", "ci", *data]) == 1
    err = capsys.readouterr().err
    assert "no API key named 'ci'" in err and "union get api-key" in err
    assert main(["get", "api-key", "--json", *data]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["get", "api-key", "--json", "--all", *data]) == 0
    assert json.loads(capsys.readouterr().out)[0]["revoked_at"]
    assert main(["get", "api-key", "--all", *data]) == 0
    assert "DELETED" in capsys.readouterr().out
    auth = ServerAuth(data_dir=tmp_path, public_url="http://x", enabled=True, failure_delay=0)
    _, client_id, secret, _ = key_parts(key)
    assert auth.store.check_client(client_id, secret) is not None  # the hash is kept, marked revoked
    response = token_response(auth, key)
    assert response.status == 401  # the deleted key no longer mints tokens
    assert body(response)["error"] == "invalid_client"
    auth.close()


def test_create_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["create", "api-key", "--name", "bad name", *data]) == 1
    assert "not a valid API key name" in capsys.readouterr().err
    assert main(["create", "api-key", "--name", "ci", *data]) == 0
    capsys.readouterr()
    assert main(["create", "api-key", "--name", "ci", *data]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "already exists" in err
    with pytest.raises(SystemExit) as info:
        main(["create", "api-key", *data])  # --name is required
    assert info.value.code == 2


def test_default_data_dir_is_the_servers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["create", "api-key", "--name", "ci"]) == 0
    capsys.readouterr()
    assert (default_server_dir() / "auth.sqlite3").exists()
    assert default_server_dir().parent.name == "data"  # under $UNION_DATA_DIR (set by the shared fixture)


def test_get_and_delete_do_not_create_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path / "typo")]
    assert main(["get", "api-key", *data]) == 0
    assert "holds no server data" in capsys.readouterr().err
    assert main(["get", "api-key", "--json", *data]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["delete", "api-key", "ci", *data]) == 1
    assert "pass the server's --data-dir" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_default_dir_is_the_one_serve_uses() -> None:
    from union.server.app import default_data_dir

    assert default_server_dir() == default_data_dir()


def test_get_runs_still_parses() -> None:
    from union.cli.main import build_parser

    args = build_parser().parse_args(["get", "runs", "--limit", "3"])
    assert args.kind == "runs" and args.limit == 3
    assert build_parser().parse_args(["get", "api-key"]).kind == "api-key"
