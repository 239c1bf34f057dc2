"""GopherShip: a log ingestion shock absorber.

Chunks arrive on sources, the somatic pivot sends each one down the green path (parse, map to
the OpenTelemetry log data model, batch, export) or into the Raw Vault (a crash-safe WAL of the
raw bytes), and the vault is replayed through the green path once pressure subsides.
"""

__version__ = "0.1.0"
