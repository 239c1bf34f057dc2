"""TLS for every network listener: TLS 1.3 only, client certificates optional.

Rules:

1. TLS 1.3 is the minimum: a client offering only TLS 1.2 or older fails the handshake.
2. With ``client_ca_file`` set, a client must present a certificate signed by that CA
   (``ssl.CERT_REQUIRED``); without it, client certificates are not asked for.
3. Problems with the files are :class:`~gophership.errors.ConfigError` naming the key
   (``sources.app.tls.cert_file``) and the file: they are found at start, before the ready line.
4. Reload (SIGHUP) loads the files into the *same* context, after checking them in a scratch
   one: connections already open keep their session, new handshakes get the new certificate,
   and a bad file leaves the old certificate in use. CA bundles only grow on reload (OpenSSL
   cannot remove a trusted CA from a live context); restart to drop a CA.
"""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING

from gophership.errors import ConfigError

if TYPE_CHECKING:
    from gophership.config import TlsConfig

__all__ = ["TlsStore", "load", "reload", "server_context"]

log = logging.getLogger(__name__)


def _new_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def load(ctx: ssl.SSLContext, cfg: TlsConfig) -> None:
    """Load ``cfg``'s certificate, key and client CA into ``ctx``; raises ConfigError."""
    try:
        ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"{cfg.origin}.cert_file/key_file: cannot load {cfg.cert_file} with key"
            f" {cfg.key_file}: {_why(exc)}"
        ) from exc
    if cfg.client_ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=cfg.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"{cfg.origin}.client_ca_file: cannot load {cfg.client_ca_file}: {_why(exc)}"
            ) from exc
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE


def server_context(cfg: TlsConfig) -> ssl.SSLContext:
    """A server context for ``cfg``: TLS 1.3 minimum, CERT_REQUIRED when a client CA is set.

    Raises:
        ConfigError: A file is missing, unreadable, not PEM, or the key does not match.
    """
    ctx = _new_context()
    load(ctx, cfg)
    return ctx


def reload(ctx: ssl.SSLContext, cfg: TlsConfig) -> None:
    """Load ``cfg``'s files again into the live ``ctx``; on error ``ctx`` is left unchanged.

    Raises:
        ConfigError: As :func:`server_context`; the old certificate stays in use.
    """
    load(_new_context(), cfg)  # check first: a half-loaded live context would serve garbage
    load(ctx, cfg)


class TlsStore:
    """Every server context the daemon made, so SIGHUP can reload them all."""

    def __init__(self) -> None:
        self._contexts: list[tuple[ssl.SSLContext, TlsConfig]] = []

    def context(self, cfg: TlsConfig | None) -> ssl.SSLContext | None:
        """A context for ``cfg`` (``None`` for plain TCP), remembered for :meth:`reload`."""
        if cfg is None:
            return None
        ctx = server_context(cfg)
        self._contexts.append((ctx, cfg))
        return ctx

    def reload(self) -> int:
        """Reload every context; failures are logged and keep the old files. Returns failures."""
        failed = 0
        for ctx, cfg in self._contexts:
            try:
                reload(ctx, cfg)
            except ConfigError as exc:
                failed += 1
                log.error(
                    "TLS reload failed; the old certificate stays in use.",
                    extra={"tls": cfg.origin, "error": str(exc)},
                )
        log.info(
            "TLS certificates reloaded.", extra={"contexts": len(self._contexts), "failed": failed}
        )
        return failed


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
