"""TLS on the network listeners: TLS 1.3 only, mutual TLS, HTTPS metrics, reload on SIGHUP."""

from __future__ import annotations

import http.client
import signal
import socket
import ssl
import urllib.request
from typing import TYPE_CHECKING, Any

import pytest
import trustme

from gophership.testing.daemon import parse_metrics, run_daemon, wait_until
from gophership.testing.pki import s_client

if TYPE_CHECKING:
    from pathlib import Path

    from gophership.testing.daemon import Daemon
    from gophership.testing.pki import Pki

pytestmark = pytest.mark.e2e


def tls_overrides(pki: Pki) -> dict[str, Any]:
    return {
        "sources": {
            "app": {"tls": pki.server_tls()},
            "syslog": {"tls": pki.server_tls(mutual=True)},
        },
        "metrics": {"tls": pki.server_tls()},
    }


def send_tls(addr: tuple[str, int], ctx: ssl.SSLContext, data: bytes) -> None:
    """One TLS connection: send, close_notify, and wait for the daemon's close_notify."""
    with (
        socket.create_connection(addr, timeout=30) as raw,
        ctx.wrap_socket(raw, server_hostname=addr[0]) as tls,
    ):
        tls.sendall(data)
        tls.unwrap()


def bodies(gs: Daemon) -> list[str]:
    return sorted(str(r.body) for r in gs.records())


def test_tls12_is_refused_and_tls13_accepted_on_every_listener(tmp_path: Path, pki: Pki) -> None:
    with run_daemon(tmp_path, **tls_overrides(pki)) as gs:
        ca = ("-CAfile", str(pki.ca_file))
        client = ("-cert", str(pki.client_cert_file), "-key", str(pki.client_key_file))
        for addr in (
            gs.ready["listeners"]["app"],
            gs.ready["listeners"]["syslog"],
            gs.ready["metrics"],
        ):
            old = s_client(addr, "-tls1_2", *ca, *client)
            assert old.returncode != 0, old.stdout
            assert "TLSv1.3" not in old.stdout
            new = s_client(addr, "-tls1_3", *ca, *client)
            assert new.returncode == 0, new.stderr
            assert "TLSv1.3" in new.stdout
            assert "Verify return code: 0 (ok)" in new.stdout


def test_ndjson_and_syslog_over_tls_reach_the_sink(tmp_path: Path, pki: Pki) -> None:
    with run_daemon(tmp_path, **tls_overrides(pki)) as gs:
        send_tls(gs.addr("app"), pki.client_context(with_cert=False), b'{"msg":"over tls"}\n')
        send_tls(gs.addr("syslog"), pki.client_context(), b"<13>1 - h a - - - mutual\n")
        wait_until(bodies.__get__(gs), lambda b: len(b) == 2, 30, "two records")
        assert bodies(gs) == ["mutual", "over tls"]


def test_mutual_tls_refuses_a_client_without_a_certificate(tmp_path: Path, pki: Pki) -> None:
    with run_daemon(tmp_path, **tls_overrides(pki)) as gs:
        ctx = pki.client_context(with_cert=False)
        addr = gs.addr("syslog")
        with (
            socket.create_connection(addr, timeout=30) as raw,
            ctx.wrap_socket(raw, server_hostname=addr[0]) as tls,
        ):
            # TLS 1.3: the client's handshake ends first; the server's verdict is the next read
            try:
                tls.sendall(b"<13>1 - h a - - - refused\n")
                answer = tls.recv(1)
            except (ssl.SSLError, ConnectionError):
                answer = b""  # an alert, or a reset: refused either way
            assert answer == b""
        failed = wait_until(
            lambda: [e for e in gs.log() if e.get("msg") == "TLS handshake failed."],
            bool,
            30,
            "the refusal in the log",
        )
        assert failed[0]["source"] == "syslog"
        assert gs.status()["sources"]["syslog"]["tls_handshake_failures_total"] == 1
        assert gs.status()["sources"]["syslog"]["received_frames_total"] == 0


def test_metrics_over_https(tmp_path: Path, pki: Pki) -> None:
    with run_daemon(tmp_path, **tls_overrides(pki)) as gs:
        url = f"https://{gs.ready['metrics']}/metrics"
        ctx = pki.client_context(with_cert=False)
        with urllib.request.urlopen(url, timeout=10, context=ctx) as resp:
            assert resp.status == 200
            assert ("gophership_ingester_zone", frozenset()) in parse_metrics(resp.read().decode())
        with pytest.raises((ConnectionError, http.client.HTTPException)):  # plain HTTP: refused
            urllib.request.urlopen(f"http://{gs.ready['metrics']}/metrics", timeout=10)


def test_sighup_reloads_certificates_without_dropping_connections(tmp_path: Path, pki: Pki) -> None:
    with run_daemon(tmp_path, **tls_overrides(pki)) as gs:
        addr = gs.addr("app")
        old_ctx = pki.client_context(with_cert=False)
        with (
            socket.create_connection(addr, timeout=30) as raw,
            old_ctx.wrap_socket(raw, server_hostname=addr[0]) as kept,
        ):
            kept.sendall(b'{"msg":"before"}\n')
            new_ca = trustme.CA()
            cert = new_ca.issue_cert("127.0.0.1")
            cert.cert_chain_pems[0].write_to_path(pki.cert_file)
            cert.private_key_pem.write_to_path(pki.key_file)
            gs.send_signal(signal.SIGHUP)
            wait_until(
                lambda: [e for e in gs.log() if e.get("msg") == "TLS certificates reloaded."],
                bool,
                30,
                "the reload in the log",
            )
            new_ctx = ssl.create_default_context()
            new_ca.configure_trust(new_ctx)
            send_tls(addr, new_ctx, b'{"msg":"new cert"}\n')
            with pytest.raises(ssl.SSLCertVerificationError):
                send_tls(addr, old_ctx, b'{"msg":"old trust"}\n')
            kept.sendall(b'{"msg":"after"}\n')  # the connection opened before the reload
            kept.unwrap()
        wait_until(bodies.__get__(gs), lambda b: len(b) == 3, 30, "three records")
        assert bodies(gs) == ["after", "before", "new cert"]
