"""Test certificates: a trustme CA, a server certificate for 127.0.0.1 and a client one.

``trustme`` is a test dependency only: it is imported when :func:`make_pki` runs.
"""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from pathlib import Path

    import trustme

CLIENT_COMMON_NAME: Final = "operator"
"""The client certificate's subject is ``CN=operator``."""


@dataclass(frozen=True)
class Pki:
    """PEM files of one test CA, its server certificate and its client certificate."""

    ca: trustme.CA
    ca_file: Path
    cert_file: Path
    key_file: Path
    client_cert_file: Path
    client_key_file: Path

    def server_tls(self, *, mutual: bool = False) -> dict[str, str]:
        """The ``tls`` config section for a listener."""
        tls = {"cert_file": str(self.cert_file), "key_file": str(self.key_file)}
        if mutual:
            tls["client_ca_file"] = str(self.ca_file)
        return tls

    def client_context(self, *, with_cert: bool = True) -> ssl.SSLContext:
        """A client context trusting the CA, presenting the client certificate if asked."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        if with_cert:
            ctx.load_cert_chain(self.client_cert_file, self.client_key_file)
        return ctx


def make_pki(root: Path) -> Pki:
    """Write a new CA and its certificates under ``root`` (created)."""
    import trustme

    root.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(root / "ca.pem")
    server = ca.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(root / "server.pem")
    server.private_key_pem.write_to_path(root / "server.key")
    client = ca.issue_cert("operator@example.com", common_name=CLIENT_COMMON_NAME)
    client.cert_chain_pems[0].write_to_path(root / "client.pem")
    client.private_key_pem.write_to_path(root / "client.key")
    return Pki(
        ca,
        root / "ca.pem",
        root / "server.pem",
        root / "server.key",
        root / "client.pem",
        root / "client.key",
    )


def s_client(addr: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``openssl s_client`` to ``addr`` with empty stdin: it handshakes, then leaves."""
    return subprocess.run(  # noqa: S603 - openssl from PATH, test helper
        ["openssl", "s_client", "-connect", addr, *args],  # noqa: S607
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
        check=False,
    )
