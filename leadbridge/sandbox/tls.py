"""The sandbox's own certificate authority (trustme), kept on disk so clients can trust it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class SandboxTls:
    """Paths of the CA certificate clients trust and of the server's certificate and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def ensure_tls(folder: Path) -> SandboxTls:
    """Create the CA and a server certificate for 127.0.0.1/localhost once; reuse them after."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = SandboxTls(
        ca_file=folder / "ca.pem",
        cert_file=folder / "server-cert.pem",
        key_file=folder / "server-key.pem",
    )
    if all(path.exists() for path in (tls.ca_file, tls.cert_file, tls.key_file)):
        return tls
    ca = trustme.CA(organization_name="leadbridge sandbox")
    server = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca.cert_pem.write_to_path(str(tls.ca_file))
    server.cert_chain_pems[0].write_to_path(str(tls.cert_file))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(tls.cert_file), append=True)
    server.private_key_pem.write_to_path(str(tls.key_file))
    tls.key_file.chmod(0o600)
    return tls
