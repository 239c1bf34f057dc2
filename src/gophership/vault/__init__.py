"""The Raw Vault: a crash-safe, checksummed WAL of raw chunks (spec: docs/VAULT_FORMAT.md)."""

from gophership.vault.fs import Filesystem, OsFilesystem
from gophership.vault.store import (
    SegmentInfo,
    Vault,
    VaultOptions,
    VaultReader,
    VaultRecord,
    VaultStatistics,
    VerifyProblem,
)
from gophership.vault.throttle import RateLimiter

__all__ = [
    "Filesystem",
    "OsFilesystem",
    "RateLimiter",
    "SegmentInfo",
    "Vault",
    "VaultOptions",
    "VaultReader",
    "VaultRecord",
    "VaultStatistics",
    "VerifyProblem",
]
