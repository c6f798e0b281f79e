"""How ``partnerhub serve`` is reached (``hub.web.transport``): over TLS itself with the
certificate it is given, and behind a proxy whose forwarded headers count only when
the proxy's address is listed in HUB_TRUSTED_PROXIES. Real servers, real sockets."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy.neo4j.launcher import free_port

FORGED = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "partnerhub test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def _serve(
    folder: Path, scheme: str, verify: Path | bool, **env: str
) -> Iterator[tuple[str, Path]]:
    """``partnerhub serve`` with ``env`` (HUB_ names without the prefix): its base URL
    and its log file, once it answers /healthz."""
    port = free_port()
    settings = {
        "HUB_STORE": f"sqlite:///{folder / 'graph.sqlite'}",
        "HUB_DATABASE": f"sqlite:///{folder / 'ledger.sqlite'}",
        "HUB_PORT": str(port),
        "HUB_LOG_LEVEL": "INFO",
        **{f"HUB_{name.upper()}": value for name, value in env.items()},
    }
    log_path = folder / f"serve-{port}.log"
    with open(log_path, "w") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve"],
            env={**os.environ, **settings},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"{scheme}://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180  # a loaded machine: imports alone take a while
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"serve exited early:\n{log_path.read_text()[-3000:]}")
            try:
                httpx.get(base + "healthz", verify=_trusting(verify))
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base, log_path
    finally:
        child.terminate()
        child.wait(timeout=15)


def _trusting(verify: Path | bool) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=verify) if isinstance(verify, Path) else verify


def _access_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if '"GET /healthz' in line]


def _access_lines_after(log: Path, before: int, within: float = 30.0) -> list[str]:
    """The access lines once one more than ``before`` is written (the line is written
    after the answer goes out)."""
    deadline = time.monotonic() + within
    while len(lines := _access_lines(log)) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    return lines


def test_serve_speaks_tls_with_the_certificate_it_is_given() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        cert_file, key_file = _self_signed(folder)
        with _serve(
            folder, "https", cert_file, tls_cert_file=str(cert_file), tls_key_file=str(key_file)
        ) as (base, _):
            answer = httpx.get(base + "healthz", verify=_trusting(cert_file))
            with pytest.raises(httpx.ConnectError):  # a client that does not trust it
                httpx.get(base + "healthz")
            with pytest.raises(httpx.RemoteProtocolError):  # no plain http on that port
                httpx.get(base.replace("https://", "http://") + "healthz")

    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_forwarded_headers_count_only_from_a_trusted_proxy() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        # The proxy is elsewhere: this test's loopback peer is not it.
        with _serve(folder, "http", True, trusted_proxies="10.9.9.9") as (base, log):
            before = len(_access_lines(log))
            untrusted = httpx.get(base + "healthz", headers=FORGED)
            untrusted_lines = _access_lines_after(log, before)
        # The same request from a peer listed as a proxy is taken at its word.
        with _serve(folder, "http", True, trusted_proxies="127.0.0.1") as (base, log):
            before = len(_access_lines(log))
            trusted = httpx.get(base + "healthz", headers=FORGED)
            trusted_lines = _access_lines_after(log, before)

    assert untrusted.status_code == 200
    assert "strict-transport-security" not in untrusted.headers  # "https" was not believed
    assert untrusted_lines and all("203.0.113.7" not in line for line in untrusted_lines)
    assert any("127.0.0.1" in line for line in untrusted_lines)

    assert "strict-transport-security" in trusted.headers
    assert any("203.0.113.7" in line for line in trusted_lines)
