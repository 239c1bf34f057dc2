"""Green-path and framing throughput on one core: lines/s per stage.

Run: ``.venv/bin/python bench/parse_bench.py [--seconds 0.5]``. Prints a human line per
stage, then one JSON object per stage (``{"bench": ..., "lines_per_second": ...}``).
Numbers are only comparable on the same machine.
"""

from __future__ import annotations

import argparse
import json
import time

import orjson

from gophership.protocol.decode import decode_chunk
from gophership.protocol.framing import LineFramer, OctetCountFramer
from gophership.protocol.otlp_json import attributes_from_mapping, encode_request
from gophership.record import Codec

CHUNK = 64 * 1024
T0 = 1_795_374_880_000_000_000


def pad(line: bytes, size: int = 200) -> bytes:
    return line + b"x" * max(0, size - 1 - len(line)) + b"\n"


def ndjson_line(i: int) -> bytes:
    obj = {
        "ts": f"2026-11-22T19:14:{i % 60:02d}.{i % 1000000:06d}Z",
        "level": "info",
        "msg": "request served",
        "user": f"u{i % 1000}",
        "status": 200,
        "path": "/api/v1/items",
    }
    line = orjson.dumps(obj)
    return line[:-1] + b',"pad":"' + b"x" * max(0, 188 - len(line)) + b'"}\n'


def rfc5424_line(i: int) -> bytes:
    return pad(
        b"<165>1 2026-11-22T19:14:%02d.%06dZ web-1.example.com app 4242 ID47 "
        b'[meta sequenceId="%d"] request served ' % (i % 60, i % 1000000, i)
    )


def rfc3164_line(i: int) -> bytes:
    return pad(b"<13>Nov 22 19:14:%02d web-1 sshd[4242]: Accepted publickey for u " % (i % 60))


def chunks_of(lines: list[bytes], octet: bool = False) -> list[bytes]:
    data = b"".join(b"%d %s" % (len(x) - 1, x[:-1]) for x in lines) if octet else b"".join(lines)
    framer: LineFramer | OctetCountFramer = OctetCountFramer(CHUNK) if octet else LineFramer(CHUNK)
    out = [c.data for i in range(0, len(data), CHUNK) for c in framer.feed(data[i : i + CHUNK])]
    return out + [c.data for c in framer.close()]


def measure(name: str, seconds: float, lines_per_call: int, fn: object) -> dict[str, object]:
    assert callable(fn)
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn()
        calls += 1
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - start
    rate = calls * lines_per_call / elapsed
    print(f"{name:<34} {rate / 1e6:7.2f} M lines/s  ({elapsed / calls * 1e6:9.1f} us/call)")
    return {"bench": name, "lines_per_second": round(rate), "us_per_call": elapsed / calls * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    s = args.seconds
    results = []

    buf = bytearray(b"".join(pad(b"line %d" % i) for i in range(400))[:CHUNK])
    view = memoryview(buf)
    per_chunk = bytes(buf).count(b"\n")
    line_framer = LineFramer(CHUNK)
    results.append(
        measure("framing LineFramer 64KiB view", s, per_chunk, lambda: line_framer.feed(view))
    )
    octet = b"".join(b"199 " + b"x" * 199 for _ in range(322))
    octet_view = memoryview(bytearray(octet))
    results.append(
        measure(
            "framing OctetCountFramer 64KiB",
            s,
            322,
            lambda: OctetCountFramer(CHUNK).feed(octet_view),
        )
    )
    for name, codec, make in (
        ("decode_chunk NDJSON (6 keys)", Codec.NDJSON, ndjson_line),
        ("decode_chunk RFC 5424", Codec.SYSLOG_LINE, rfc5424_line),
        ("decode_chunk RFC 5424 octet-counted", Codec.SYSLOG_OCTET, rfc5424_line),
        ("decode_chunk RFC 3164", Codec.SYSLOG_LINE, rfc3164_line),
    ):
        chunk = chunks_of([make(i) for i in range(320)], codec is Codec.SYSLOG_OCTET)[0]
        n = len(decode_chunk(codec, chunk, T0).records)
        assert decode_chunk(codec, chunk, T0).errors == 0
        results.append(measure(name, s, n, lambda c=chunk, k=codec: decode_chunk(k, c, T0)))
    records = decode_chunk(
        Codec.NDJSON, chunks_of([ndjson_line(i) for i in range(320)])[0], T0
    ).records
    resource = attributes_from_mapping({"host.name": "h", "service.name": "s"})
    results.append(
        measure(
            "encode_request (NDJSON records)",
            s,
            len(records),
            lambda: encode_request(resource, [("tcp", records)]),
        )
    )
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
