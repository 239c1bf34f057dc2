from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

import pytest
import trustme

from gophership import tls
from gophership.config import TlsConfig
from gophership.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def write_pki(root: Path, ca: trustme.CA, name: str = "server") -> TlsConfig:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(root / f"{name}.pem")
    cert.private_key_pem.write_to_path(root / f"{name}.key")
    ca.cert_pem.write_to_path(root / "ca.pem")
    return TlsConfig(root / f"{name}.pem", root / f"{name}.key", None, "sources.app.tls")


def test_server_context_is_tls13_only_without_client_certs(tmp_path: Path) -> None:
    ctx = tls.server_context(write_pki(tmp_path, trustme.CA()))
    assert ctx.minimum_version is ssl.TLSVersion.TLSv1_3
    assert ctx.verify_mode is ssl.CERT_NONE


def test_client_ca_requires_client_certificates(tmp_path: Path) -> None:
    cfg = write_pki(tmp_path, trustme.CA())
    ctx = tls.server_context(
        TlsConfig(cfg.cert_file, cfg.key_file, tmp_path / "ca.pem", cfg.origin)
    )
    assert ctx.verify_mode is ssl.CERT_REQUIRED
    assert ctx.cert_store_stats()["x509_ca"] == 1


def test_missing_files_name_the_key_and_the_file(tmp_path: Path) -> None:
    cfg = TlsConfig(tmp_path / "nope.pem", tmp_path / "nope.key", None, "metrics.tls")
    with pytest.raises(ConfigError, match=r"^metrics\.tls\.cert_file/key_file: .*nope\.pem"):
        tls.server_context(cfg)
    good = write_pki(tmp_path, trustme.CA())
    bad_ca = TlsConfig(good.cert_file, good.key_file, tmp_path / "no-ca.pem", "x.tls")
    with pytest.raises(ConfigError, match=r"^x\.tls\.client_ca_file: .*no-ca\.pem"):
        tls.server_context(bad_ca)


def test_mismatched_key_is_refused(tmp_path: Path) -> None:
    a = write_pki(tmp_path, trustme.CA(), "a")
    b = write_pki(tmp_path, trustme.CA(), "b")
    with pytest.raises(ConfigError, match="cannot load"):
        tls.server_context(TlsConfig(a.cert_file, b.key_file))


def test_failed_reload_keeps_the_old_certificate(tmp_path: Path) -> None:
    cfg = write_pki(tmp_path, trustme.CA())
    store = tls.TlsStore()
    ctx = store.context(cfg)
    assert ctx is not None
    assert store.context(None) is None
    assert store.reload() == 0
    cfg.key_file.write_text("not a key")
    assert store.reload() == 1
