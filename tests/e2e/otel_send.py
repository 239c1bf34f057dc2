"""A real OpenTelemetry SDK client: emits log records and exports them over OTLP.

Run as a script (the SDK keeps global state, so each send is its own process):

    python otel_send.py --protocol grpc|http --endpoint URL -n N [--compression gzip]
        [--batch-size B] [--run-id R] [--header k=v] [--body-bytes K]

Record ``i`` carries: severity cycling TRACE..FATAL with its text; a body with non-ASCII
characters; attributes of every type (string, int, double, bool, string array, int array,
``test.seq`` = i, ``test.run_id``); trace and span ids (``TRACE_ID``/``SPAN_ID``, flags 1);
resource ``service.name``, ``service.instance.id`` and ``deployment.environment.name``; scope
``otel_sdk_send`` 1.0.0. Prints one JSON line: records handed to successful exports and to
failed ones, counted by wrapping the exporter (``force_flush`` hides failures).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, set_span_in_context

TRACE_ID = 0x5B8EFFF798038103D269B633813FC60C
SPAN_ID = 0xEEE19B7EC3C1B174
SEVERITIES = [
    (SeverityNumber.TRACE, "TRACE"),
    (SeverityNumber.DEBUG, "DEBUG"),
    (SeverityNumber.INFO, "INFO"),
    (SeverityNumber.WARN, "WARN"),
    (SeverityNumber.ERROR, "ERROR"),
    (SeverityNumber.FATAL, "FATAL"),
]
BODY = "héllo 中 🚀 record {i}"


class Counting(LogRecordExporter):
    """Wraps an exporter and counts records by export result."""

    def __init__(self, inner: LogRecordExporter) -> None:
        self.inner = inner
        self.ok = 0
        self.failed = 0

    def export(self, batch: Any) -> LogRecordExportResult:
        result = self.inner.export(batch)
        if result == LogRecordExportResult.SUCCESS:
            self.ok += len(batch)
        else:
            self.failed += len(batch)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()  # type: ignore[no-untyped-call]

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--protocol", choices=["grpc", "http"], required=True)
    p.add_argument("--endpoint", required=True)
    p.add_argument("-n", type=int, default=100)
    p.add_argument("--compression", choices=["gzip", "none"], default="none")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--run-id", default="r1")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--body-bytes", type=int, default=0)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--ca", help="CA file: connect with TLS (https:// for HTTP)")
    p.add_argument("--cert", help="client certificate (with --key) for mutual TLS")
    p.add_argument("--key")
    args = p.parse_args(argv)
    headers = dict(h.split("=", 1) for h in args.header)
    if args.protocol == "grpc":
        import grpc
        from grpc import Compression as GrpcCompression
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        credentials = None
        if args.ca:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=open(args.ca, "rb").read(),  # noqa: SIM115
                private_key=open(args.key, "rb").read() if args.key else None,  # noqa: SIM115
                certificate_chain=open(args.cert, "rb").read() if args.cert else None,  # noqa: SIM115
            )
        exporter: Any = OTLPLogExporter(
            endpoint=args.endpoint,
            insecure=not args.ca,
            credentials=credentials,
            headers=headers or None,
            timeout=args.timeout,
            compression=GrpcCompression.Gzip
            if args.compression == "gzip"
            else GrpcCompression.NoCompression,
        )
    else:
        from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (
            OTLPLogExporter as HttpExporter,
        )

        endpoint = args.endpoint
        if not endpoint.rstrip("/").endswith("/v1/logs"):
            endpoint = endpoint.rstrip("/") + "/v1/logs"
        exporter = HttpExporter(
            endpoint=endpoint,
            certificate_file=args.ca,
            client_certificate_file=args.cert,
            client_key_file=args.key,
            headers=headers or None,
            timeout=args.timeout,
            compression=HttpCompression.Gzip
            if args.compression == "gzip"
            else HttpCompression.NoCompression,
        )
    counting = Counting(exporter)
    resource = Resource.create(
        {
            "service.name": "otel-e2e",
            "service.instance.id": "instance-1",
            "deployment.environment.name": "test",
        }
    )
    provider = LoggerProvider(resource=resource)
    provider.add_log_record_processor(
        BatchLogRecordProcessor(
            counting,
            max_export_batch_size=args.batch_size,
            schedule_delay_millis=200,
            max_queue_size=max(2048, args.n),
        )
    )
    logger = provider.get_logger("otel_sdk_send", "1.0.0")
    context = set_span_in_context(
        NonRecordingSpan(SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1)))
    )
    pad = "x" * args.body_bytes
    for i in range(args.n):
        number, text = SEVERITIES[i % len(SEVERITIES)]
        logger.emit(
            timestamp=1_700_000_000_000_000_000 + i * 1000,
            observed_timestamp=1_700_000_000_000_000_500 + i * 1000,
            context=context,
            severity_number=number,
            severity_text=text,
            body=BODY.format(i=i) + pad,
            attributes={
                "test.run_id": args.run_id,
                "test.seq": i,
                "test.ratio": i / 4,
                "test.flag": i % 2 == 0,
                "test.tags": ["a", "b", str(i)],
                "test.counts": [1, 2, i],
                "test.big": 2**62 + i,
                "test.negative": -i,
            },
        )
    provider.shutdown()
    print(json.dumps({"ok": counting.ok, "failed": counting.failed}))
    return 0 if counting.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
