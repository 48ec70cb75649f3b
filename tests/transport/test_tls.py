"""TLS: verification on by default, a private CA through ca_cert_path, and the explicit opt-out."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import pytest
from flyteidl2.workflow import run_service_pb2
from scripted import ScriptedServer, reply_message

from union import errors
from union.config import Config
from union.transport.connect import ConnectTransport
from union.transport.retry import RetryPolicy

x509 = pytest.importorskip("cryptography.x509", reason="cryptography is needed to mint a test CA")


def _mint(tmp: Path) -> tuple[Path, Path, Path]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "union test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_path, cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Any:
    ca, cert, key = _mint(tmp_path)
    server = ScriptedServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.handler = lambda h, s: reply_message(h, run_service_pb2.GetRunDetailsResponse())
    yield server, ca
    server.close()


def _client(server: ScriptedServer, **config: Any) -> ConnectTransport:
    port = server.httpd.server_address[1]
    t = ConnectTransport(
        Config(endpoint=f"https://127.0.0.1:{port}", **config), retry=RetryPolicy(max_attempts=1)
    )
    t._auth_resolved = True
    return t


def test_unknown_ca_is_refused_with_a_hint(tls_server: Any) -> None:
    server, _ = tls_server
    with _client(server) as t, pytest.raises(errors.UnavailableError, match="ca_cert_path"):
        t.get_run_details(run_service_pb2.GetRunDetailsRequest(), timeout=5)
    assert not server.requests


def test_ca_cert_path_trusts_a_private_ca(tls_server: Any) -> None:
    server, ca = tls_server
    with _client(server, ca_cert_path=str(ca)) as t:
        t.get_run_details(run_service_pb2.GetRunDetailsRequest(), timeout=5)
    assert len(server.requests) == 1


def test_skip_verify_is_explicit_and_warns(tls_server: Any) -> None:
    server, _ = tls_server
    with (
        pytest.warns(UserWarning, match="not verified") as caught,
        _client(server, insecure_skip_verify=True) as t,
    ):
        t.get_run_details(run_service_pb2.GetRunDetailsRequest(), timeout=5)
        t.get_run_details(run_service_pb2.GetRunDetailsRequest(), timeout=5)
    assert len(caught) == 1  # ours, once; not urllib3's on every request
    assert len(server.requests) == 2


def test_requests_ca_bundle_environment_is_honoured(tls_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server, ca = tls_server
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca))
    with _client(server) as t:
        t.get_run_details(run_service_pb2.GetRunDetailsRequest(), timeout=5)
    assert len(server.requests) == 1


def test_environment_is_scanned_once_unless_proxies_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with ConnectTransport(Config(endpoint="h:1")) as t:
        assert t._session.trust_env is False
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    with ConnectTransport(Config(endpoint="h:1")) as t:
        assert t._session.trust_env is True


def test_tls_settings_apply_to_a_shared_session_without_changing_it(tls_server: Any) -> None:
    import requests

    server, ca = tls_server
    port = server.httpd.server_address[1]
    session = requests.Session()
    t = ConnectTransport(
        Config(endpoint=f"https://127.0.0.1:{port}", ca_cert_path=str(ca)),
        session=session,
        authenticator=None,
    )
    t._auth_resolved = True
    t.get_run_details(run_service_pb2.GetRunDetailsRequest(), timeout=5)
    assert session.verify is True
    plain = ConnectTransport(Config(endpoint=f"https://127.0.0.1:{port}"), session=session)
    plain._auth_resolved = True
    with pytest.raises(errors.UnavailableError, match="TLS"):
        plain.get_run_details(run_service_pb2.GetRunDetailsRequest(), timeout=5)
    session.close()
