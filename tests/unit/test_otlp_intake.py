"""OtlpIntake: what each request becomes, with a fake ingester (no sockets)."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from gophership.config import SourceConfig
from gophership.pivot.modes import Zone
from gophership.record import Codec
from gophership.sources.otlp import OtlpIntake, Outcome


@dataclass
class FakeIngester:
    zone: Zone = Zone.GREEN
    accepting: bool = True
    routed: list[tuple[Codec, str, bytes, int]] = field(default_factory=list)

    def route(self, codec: Codec, source: str, data: bytes, frames: int, started_ns: int) -> bool:
        self.routed.append((codec, source, data, frames))
        return True


def intake(ing: FakeIngester, max_bytes: int = 1 << 20) -> OtlpIntake:
    cfg = SourceConfig(
        name="otlp", type="otlp_grpc", host="127.0.0.1", port=0, max_message_bytes=max_bytes
    )
    return OtlpIntake(cfg, ing)  # type: ignore[arg-type]


def request(*trace_ids: bytes) -> bytes:
    req = ExportLogsServiceRequest()
    records = req.resource_logs.add().scope_logs.add().log_records
    for i, tid in enumerate(trace_ids):
        r = records.add()
        r.body.string_value = f"r{i}"
        r.trace_id = tid
    return req.SerializeToString()


def test_valid_request_is_routed_as_received() -> None:
    ing = FakeIngester()
    body = request(bytes(16), b"")
    answer = intake(ing).take(Codec.OTLP_PROTO, body, 0)
    assert answer.outcome is Outcome.ACCEPTED
    assert ing.routed == [(Codec.OTLP_PROTO, "otlp", body, 1)]


def test_bad_ids_are_rejected_and_the_rest_routed() -> None:
    ing = FakeIngester()
    it = intake(ing)
    answer = it.take(Codec.OTLP_PROTO, request(bytes(16), b"\x01", bytes(15)), 0)
    assert answer.outcome is Outcome.PARTIAL
    assert answer.rejected == 2
    (routed,) = ing.routed
    kept = ExportLogsServiceRequest.FromString(routed[2]).resource_logs[0].scope_logs[0].log_records
    assert [r.body.string_value for r in kept] == ["r0"]
    assert it.statistics().rejected_records_total == 2
    assert it.statistics().requests_by_outcome["partial"] == 1


def test_json_bad_ids_are_rejected_too() -> None:
    ing = FakeIngester()
    doc = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {"body": {"stringValue": "ok"}, "traceId": "00" * 16},
                            {"body": {"stringValue": "bad"}, "traceId": "zz" * 16},
                        ]
                    }
                ]
            }
        ]
    }
    answer = intake(ing).take(Codec.OTLP_JSON, orjson.dumps(doc), 0)
    assert (answer.outcome, answer.rejected) == (Outcome.PARTIAL, 1)
    kept = orjson.loads(ing.routed[0][2])["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    assert [r["body"]["stringValue"] for r in kept] == ["ok"]


def test_red_zone_takes_bytes_unchecked() -> None:
    ing = FakeIngester(zone=Zone.RED)
    answer = intake(ing).take(Codec.OTLP_PROTO, b"\xff not protobuf", 0)
    assert answer.outcome is Outcome.ACCEPTED  # no decoding in RED: replay reports it
    assert ing.routed[0][2] == b"\xff not protobuf"


def test_invalid_too_large_and_refused_are_not_routed() -> None:
    ing = FakeIngester()
    it = intake(ing, max_bytes=1024)
    assert it.take(Codec.OTLP_PROTO, b"\xff\xff\xff", 0).outcome is Outcome.INVALID
    assert it.take(Codec.OTLP_JSON, b"[1, 2]", 0).outcome is Outcome.INVALID
    assert it.take(Codec.OTLP_PROTO, request(*[b""] * 200), 0).outcome is Outcome.TOO_LARGE
    ing.accepting = False
    refused = it.take(Codec.OTLP_PROTO, request(b""), 0)
    assert refused.outcome is Outcome.REFUSED
    assert ing.routed == []
    counts = it.statistics().requests_by_outcome
    assert counts == {"accepted": 0, "partial": 0, "refused": 1, "invalid": 2, "too_large": 1}


def test_stopping_refuses() -> None:
    ing = FakeIngester()
    it = intake(ing)
    it.stopping = True
    assert it.take(Codec.OTLP_PROTO, request(b""), 0).outcome is Outcome.REFUSED
