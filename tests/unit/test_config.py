from __future__ import annotations

import dataclasses
import textwrap
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gophership.config import (
    Config,
    ResourceConfig,
    format_duration,
    format_size,
    load_config,
    load_config_text,
    parse_duration,
    parse_size,
)
from gophership.errors import ConfigError

SINK = "sinks: {out: {type: blackhole}}\n"


def load(text: str) -> Config:
    return load_config_text(textwrap.dedent(text), "config.yaml")


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text)
    return str(info.value).splitlines()


# --- the embedded default ----------------------------------------------------------------------


def test_embedded_default_has_the_six_sources_and_the_file_sink() -> None:
    config = load_config(None)
    assert {name: s.type for name, s in config.sources.items()} == {
        "app": "ndjson_tcp",
        "app_unix": "ndjson_unix",
        "syslog": "syslog_tcp",
        "syslog_udp": "syslog_udp",
        "otlp": "otlp_grpc",
        "otlp_http": "otlp_http",
    }
    assert list(config.sources) == ["app", "app_unix", "syslog", "syslog_udp", "otlp", "otlp_http"]
    app, unix, syslog, udp, otlp_grpc, otlp_http = config.sources.values()
    assert (otlp_grpc.host, otlp_grpc.port) == ("127.0.0.1", 4317)
    assert (otlp_http.host, otlp_http.port) == ("127.0.0.1", 4318)
    assert (app.host, app.port) == ("127.0.0.1", 5170)
    assert unix.path == Path("gophership-data/ndjson.sock")
    assert (syslog.host, syslog.port, syslog.framing) == ("127.0.0.1", 5140, "auto")
    assert (udp.host, udp.port) == ("127.0.0.1", 5140)
    assert list(config.sinks) == ["archive"]
    archive = config.sinks["archive"]
    assert archive.type == "file"
    assert archive.path == Path("gophership-data/out/logs.jsonl")
    assert config.data_dir == Path("gophership-data")
    assert config.vault.dir == Path("gophership-data/vault")
    assert config.vault.max_bytes == 10 * 2**30
    assert config.vault.segment_bytes == 64 * 2**20
    assert config.vault.fsync == pytest.approx(0.1)
    assert config.somatic.zone == "auto"
    assert config.somatic.memory_budget_bytes == 256 * 2**20
    assert config.somatic.queue_budget_bytes == 64 * 2**20
    assert (config.metrics.enabled, config.metrics.host, config.metrics.port) == (
        True,
        "127.0.0.1",
        9091,
    )
    assert config.control.socket == Path("gophership-data/control.sock")
    assert config.source_file is None


def test_embedded_default_is_the_packaged_file() -> None:
    packaged = resources.files("gophership").joinpath("default.yaml")
    text = packaged.read_text(encoding="utf-8")
    assert load_config_text(text) == load_config(None)


def test_load_config_reads_a_file_and_records_it(tmp_path: Path) -> None:
    path = tmp_path / "gs.yaml"
    path.write_text(SINK, encoding="utf-8")
    config = load_config(path)
    assert config.source_file == path
    assert load_config(str(path)).sinks["out"].type == "blackhole"


def test_errors_name_the_file_path_and_line(tmp_path: Path) -> None:
    path = tmp_path / "gs.yaml"
    path.write_text(SINK + "vault:\n  max_byte: 1GiB\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (f"{path}:3: vault.max_byte: unknown key (did you mean 'max_bytes'?)")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match=r"absent\.yaml: cannot read the configuration file"):
        load_config(path)


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "gs.yaml"
    path.write_bytes(b"data_dir: \xff\n")
    with pytest.raises(ConfigError, match=r"gs\.yaml: not UTF-8 text"):
        load_config(path)


def test_values_are_frozen() -> None:
    config = load_config(None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.data_dir = Path("/elsewhere")  # type: ignore[misc]  # the point of the test
    with pytest.raises(TypeError):
        config.resource.attributes["x"] = "y"  # type: ignore[index]  # read-only mapping


# --- defaults and derived values ----------------------------------------------------------------


def test_minimal_file_takes_documented_defaults() -> None:
    config = load(SINK)
    assert config.sources == {}  # a source-less daemon is allowed (replay/metrics only)
    assert config.data_dir == Path("gophership-data")
    assert config.pipeline.batch_max_records == 8192
    assert config.pipeline.batch_timeout_seconds == pytest.approx(0.2)
    assert config.vault.replay.rate_bytes_per_second == 64 * 2**20
    assert config.vault.compression == "lz4"
    assert config.log.level == "info"
    assert config.control.allowed_uids == ()
    sink = config.sinks["out"]
    assert (sink.timeout_seconds, sink.unhealthy_after_failures, sink.path) == (5.0, 3, None)


def test_omitted_paths_derive_from_data_dir() -> None:
    config = load(
        """
        data_dir: /var/lib/gs
        sources:
          local: {type: ndjson_unix}
        sinks:
          archive: {type: file}
        """
    )
    assert config.sources["local"].path == Path("/var/lib/gs/ndjson.sock")
    assert config.sinks["archive"].path == Path("/var/lib/gs/out/archive.jsonl")
    assert config.vault.dir == Path("/var/lib/gs/vault")
    assert config.control.socket == Path("/var/lib/gs/control.sock")


def test_every_section_is_read() -> None:
    config = load(
        """
        sources:
          six: {type: syslog_tcp, address: "[::1]:6514", framing: octet_counting,
                max_frame_bytes: 1MiB, max_connections: 10}
          sock: {type: ndjson_unix, path: s.sock, socket_mode: "0600"}
        sinks:
          out: {type: file, path: o.jsonl, max_file_bytes: 1GiB, max_files: 2, timeout: 2s,
                retry_initial_backoff: 50ms, retry_max_backoff: 1m, unhealthy_after_failures: 7}
        somatic: {zone: red, yellow_threshold: 0.5, red_threshold: 1.0, hysteresis: 0,
                  sense_every_chunks: 8, sense_interval: 20ms}
        vault: {segment_max_age: 1h, fsync: always, compression: none,
                replay: {enabled: false, rate: 10MiB/s, delete_replayed: false}}
        pipeline: {batch_max_records: 100, batch_max_bytes: 64KiB, batch_timeout: 1s,
                   drain_timeout: 0}
        metrics: {enabled: false, address: "0.0.0.0:0"}
        control: {socket: c.sock, allowed_uids: [0, 1000]}
        resource: {attributes: {service.name: api, deployment.environment: prod}, host_name: n1}
        log: {level: debug}
        """
    )
    six = config.sources["six"]
    assert (six.host, six.port, six.framing) == ("::1", 6514, "octet_counting")
    assert six.max_frame_bytes == 2**20
    assert six.receive_buffer_bytes == 2**20  # default grows to hold one whole frame
    assert config.sources["sock"].socket_mode == 0o600
    out = config.sinks["out"]
    assert (out.max_file_bytes, out.max_files, out.timeout_seconds) == (2**30, 2, 2.0)
    assert (out.retry_initial_backoff_seconds, out.retry_max_backoff_seconds) == (0.05, 60.0)
    assert out.unhealthy_after_failures == 7
    assert config.somatic.zone == "red"
    assert config.somatic.sense_interval_seconds == pytest.approx(0.02)
    assert (config.vault.fsync, config.vault.compression) == ("always", "none")
    assert config.vault.segment_max_age_seconds == 3600.0
    assert config.vault.replay.rate_bytes_per_second == 10 * 2**20
    assert config.vault.replay.enabled is False
    assert config.pipeline.drain_timeout_seconds == 0.0
    assert (config.metrics.enabled, config.metrics.port) == (False, 0)
    assert config.control.allowed_uids == (0, 1000)
    assert dict(config.resource.attributes) == {
        "service.name": "api",
        "deployment.environment": "prod",
    }
    assert config.resource.resolved_attributes()["host.name"] == "n1"
    assert config.log.level == "debug"


def test_host_name_defaults_to_the_machine() -> None:
    import socket

    assert ResourceConfig().resolved_attributes() == {"host.name": socket.gethostname()}


@pytest.mark.parametrize(
    ("written", "mode"),
    [('"0660"', 0o660), ("0640", 0o640), ('"0o600"', 0o600), ('"777"', 0o777), ("0", 0)],
)
def test_socket_mode_is_octal(written: str, mode: int) -> None:
    config = load(f"sources: {{s: {{type: ndjson_unix, socket_mode: {written}}}}}\n" + SINK)
    assert config.sources["s"].socket_mode == mode


def test_yaml_anchors_merge_keys_and_extension_keys() -> None:
    config = load(
        """
        x-limits: &limits {max_frame_bytes: 8KiB, max_connections: 5}
        sources:
          a: {<<: *limits, type: ndjson_tcp, address: "127.0.0.1:1"}
          b:
            <<: *limits
            type: syslog_tcp
            address: "127.0.0.1:2"
            max_connections: 9
        """
        + SINK
    )
    assert config.sources["a"].max_connections == 5
    assert config.sources["b"].max_connections == 9  # own keys win over merged ones
    assert config.sources["b"].max_frame_bytes == 8 * 1024


def test_tcp_and_udp_may_share_a_port_and_port_zero_repeats() -> None:
    config = load(
        """
        sources:
          t: {type: syslog_tcp, address: "127.0.0.1:5140"}
          u: {type: syslog_udp, address: "127.0.0.1:5140"}
          e1: {type: ndjson_tcp, address: "127.0.0.1:0"}
          e2: {type: ndjson_tcp, address: "127.0.0.1:0"}
          other_host: {type: ndjson_tcp, address: "127.0.0.2:5140"}
        """
        + SINK
    )
    assert len(config.sources) == 5


# --- errors: each names the file, the line and the dotted key -----------------------------------


def test_unknown_key_suggests_the_right_one() -> None:
    assert errors_of(
        """\
        sources:
          app:
            type: ndjson_tcp
            addres: "127.0.0.1:5170"
        """
        + SINK
    ) == ["config.yaml:4: sources.app.addres: unknown key (did you mean 'address'?)"]


def test_unknown_key_without_a_close_match_lists_the_keys() -> None:
    assert errors_of(SINK + "log: {colour: red}\n") == [
        "config.yaml:2: log.colour: unknown key (expected one of: level)"
    ]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        # wrong types
        (
            "pipeline: {batch_max_records: many}",
            "config.yaml:2: pipeline.batch_max_records: expected an integer, got the string 'many'",
        ),
        (
            "metrics: {enabled: 'yes'}",
            "config.yaml:2: metrics.enabled: expected true or false, got the string 'yes'",
        ),
        ("somatic: [1, 2]", "config.yaml:2: somatic: expected a mapping, got a list"),
        (
            "resource: {attributes: {service.version: 1.2}}",
            "config.yaml:2: resource.attributes.service.version: expected a string,"
            " got a number (1.2) (quote it)",
        ),
        (
            "somatic: {zone: gren}",
            "config.yaml:2: somatic.zone: expected one of auto, green, yellow, red,"
            " got the string 'gren' (did you mean 'green'?)",
        ),
        # out of range
        (
            "somatic: {sense_every_chunks: 0}",
            "config.yaml:2: somatic.sense_every_chunks: 0 is out of range (1..1000000)",
        ),
        (
            "pipeline: {batch_timeout: 2m}",
            "config.yaml:2: pipeline.batch_timeout: 2m is out of range (1ms..1m)",
        ),
        (
            "somatic: {red_threshold: 1.5}",
            "config.yaml:2: somatic.red_threshold: 1.5 is out of range (0, 1]",
        ),
        (
            "somatic: {yellow_threshold: 0.8, red_threshold: 0.7}",
            "config.yaml:2: somatic.red_threshold: 0.7 must be greater than yellow_threshold (0.8)",
        ),
        (
            "somatic: {hysteresis: 0.8}",
            "config.yaml:2: somatic.hysteresis: 0.8 must be less than yellow_threshold (0.7)",
        ),
        (
            "somatic: {memory_budget: 64MiB, queue_budget: 128MiB}",
            "config.yaml:2: somatic.queue_budget: 128MiB is larger than memory_budget (64MiB)",
        ),
        (
            "vault: {max_bytes: 32MiB, segment_bytes: 64MiB}",
            "config.yaml:2: vault.max_bytes: 32MiB is smaller than segment_bytes (64MiB)",
        ),
        (
            "vault: {fsync: 0}",
            "config.yaml:2: vault.fsync: 0s is out of range (1ms..1h; use always or never)",
        ),
        (
            "control: {allowed_uids: [1000, -1]}",
            "config.yaml:2: control.allowed_uids[1]: -1 is out of range (0..4294967294)",
        ),
        # bad sizes and durations
        (
            "vault: {segment_bytes: 64Mib}",
            "config.yaml:2: vault.segment_bytes: invalid size '64Mib': unknown unit 'Mib'"
            " (did you mean 'MiB'?); units are B, KB, MB, GB, TB, KiB, MiB, GiB, TiB",
        ),
        (
            "somatic: {memory_budget: 1.5}",
            "config.yaml:2: somatic.memory_budget: expected a size such as '64MiB',"
            " got a number (1.5): sizes are whole bytes",
        ),
        (
            "sinks: {out: {type: stdout, timeout: 5 sec}}",
            "config.yaml:2: sinks.out.timeout: invalid duration '5 sec': unknown unit 'sec'"
            " (did you mean 's'?); units are ns, us, µs, ms, s, m, h",
        ),
        (
            "pipeline: {drain_timeout: -1s}",
            "config.yaml:2: pipeline.drain_timeout: invalid duration '-1s':"
            " durations must not be negative",
        ),
    ],
)
def test_value_errors_name_file_line_and_key(snippet: str, expected: str) -> None:
    assert expected in errors_of(SINK + snippet + "\n")


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("x", 'expected "host:port", e.g. "127.0.0.1:5170"'),
        ("127.0.0.1:99999", "port 99999 is out of range (0..65535)"),
        ("127.0.0.1:http", "port 'http' is not a number"),
        (":5170", "the host is empty (use 0.0.0.0 or [::] for all interfaces)"),
        ("::1:5170", 'write IPv6 hosts in brackets, e.g. "[::1]:5170"'),
        ("[zz]:5170", "'zz' is not an IPv6 address"),
        ("bad_host!:5170", "'bad_host!' is not a valid host name or IPv4 address"),
    ],
)
def test_bad_address(address: str, problem: str) -> None:
    assert errors_of(f'sources:\n  app: {{type: ndjson_tcp, address: "{address}"}}\n' + SINK) == [
        f"config.yaml:2: sources.app.address: invalid address {address!r}: {problem}"
    ]


def test_address_must_be_a_string() -> None:
    assert errors_of("metrics: {address: 9091}\n" + SINK) == [
        'config.yaml:1: metrics.address: expected "host:port", got an integer (9091)'
    ]


def test_duplicate_bind_names_both_sources() -> None:
    assert errors_of(
        """\
        sources:
          a: {type: ndjson_tcp, address: "127.0.0.1:5170"}
          b: {type: syslog_tcp, address: "127.0.0.1:5170"}
          c: {type: syslog_udp, address: "127.0.0.1:5514"}
          d: {type: syslog_udp, address: "127.0.0.1:5514"}
          w: {type: ndjson_tcp, address: "0.0.0.0:7000"}
          v: {type: ndjson_tcp, address: "10.0.0.1:7000"}
        metrics: {address: "127.0.0.1:5170"}
        """
        + SINK
    ) == [
        "config.yaml:3: sources.b.address: 127.0.0.1:5170 is already bound by sources.a"
        " (TCP, line 2)",
        "config.yaml:5: sources.d.address: 127.0.0.1:5514 is already bound by sources.c"
        " (UDP, line 4)",
        "config.yaml:7: sources.v.address: 10.0.0.1:7000 is already bound by sources.w"
        " (TCP, line 6)",
        "config.yaml:8: metrics.address: 127.0.0.1:5170 is already bound by sources.a"
        " (TCP, line 2)",
    ]


def test_two_unix_sources_on_the_default_path_clash() -> None:
    assert errors_of(
        """\
        sources:
          u1: {type: ndjson_unix}
          u2: {type: ndjson_unix}
        control: {socket: gophership-data/ndjson.sock}
        """
        + SINK
    ) == [
        "config.yaml:3: sources.u2.path: gophership-data/ndjson.sock is already bound by"
        " sources.u1 (unix, line 2)",
        "config.yaml:4: control.socket: gophership-data/ndjson.sock is already bound by"
        " sources.u1 (unix, line 2)",
    ]


def test_two_file_sinks_on_one_path_clash() -> None:
    assert errors_of(
        "sinks:\n  a: {type: file, path: x.jsonl}\n  b: {type: file, path: x.jsonl}\n"
    ) == ["config.yaml:3: sinks.b.path: x.jsonl is already written by sinks.a"]


def test_unix_socket_path_length_is_checked() -> None:
    long = "d/" * 60 + "s.sock"
    assert errors_of(f"control: {{socket: {long}}}\n" + SINK) == [
        f"config.yaml:1: control.socket: unix socket path is {len(long)} bytes, longer than"
        " the 107-byte limit (use a shorter or relative path)"
    ]


def test_key_valid_for_another_type_is_named() -> None:
    assert errors_of(
        'sources:\n  app: {type: ndjson_tcp, address: "127.0.0.1:1", framing: newline}\n' + SINK
    ) == [
        "config.yaml:2: sources.app.framing: not valid for source type ndjson_tcp"
        " (only for syslog_tcp)"
    ]


def test_missing_type_and_address_are_required() -> None:
    assert errors_of(
        "sources:\n  a: {address: '127.0.0.1:1'}\n  b: {type: syslog_udp}\n" + SINK
    ) == [
        "config.yaml:2: sources.a.type: required"
        " (one of ndjson_tcp, ndjson_unix, syslog_tcp, syslog_udp, otlp_grpc, otlp_http)",
        'config.yaml:3: sources.b.address: required (a "host:port" string)',
    ]


def test_invalid_names() -> None:
    assert errors_of(
        "sources:\n  'a b': {type: ndjson_unix}\nsinks:\n  'x/y': {type: stdout}\n"
    ) == [
        "config.yaml:2: sources.a b: invalid source name 'a b':"
        " use only letters, digits, '_', '.' and '-'",
        "config.yaml:4: sinks.x/y: invalid sink name 'x/y':"
        " use only letters, digits, '_', '.' and '-'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "config.yaml: sinks: at least one sink is required (e.g. {type: blackhole})"),
        (
            "sinks:\n",
            "config.yaml:1: sinks: at least one sink is required (e.g. {type: blackhole})",
        ),
        ("sinks: [a]\n", "config.yaml:1: sinks: expected a mapping, got a list"),
        ("hello\n", "config.yaml:1: (top level): expected a mapping, got the string 'hello'"),
        (
            "sinks: {a: [\n",
            "config.yaml:2: invalid YAML: expected the node content, but found '<stream end>'",
        ),
        ("---\na: 1\n---\nb: 2\n", "config.yaml:3: invalid YAML: but found another document"),
    ],
)
def test_structure_errors(text: str, expected: str) -> None:
    assert errors_of(text) == [expected]


def test_duplicate_keys_are_errors() -> None:
    assert errors_of(SINK + "log: {level: info}\nlog: {level: debug}\n") == [
        "config.yaml:3: log: duplicate key (first at line 2)"
    ]


def test_all_errors_are_reported_in_file_order() -> None:
    assert errors_of(
        """\
        log: {level: loud}
        sources:
          a: {type: ndjson_tcp, address: "127.0.0.1:1", max_connections: 0}
        data_dir: 7
        """
        + SINK
    ) == [
        "config.yaml:1: log.level: expected one of debug, info, warning, error,"
        " got the string 'loud'",
        "config.yaml:3: sources.a.max_connections: 0 is out of range (1..65535)",
        "config.yaml:4: data_dir: expected a path, got an integer (7)",
    ]


def test_socket_mode_written_in_decimal_is_refused() -> None:
    assert errors_of("sources: {s: {type: ndjson_unix, socket_mode: 660}}\n" + SINK) == [
        "config.yaml:1: sources.s.socket_mode: 660 is read as a decimal number;"
        ' write the mode in octal, e.g. "0660"'
    ]


def test_receive_buffer_must_hold_a_frame() -> None:
    assert errors_of(
        "sources: {s: {type: ndjson_unix, max_frame_bytes: 1MiB, receive_buffer_bytes: 64KiB}}\n"
        + SINK
    ) == [
        "config.yaml:1: sources.s.receive_buffer_bytes: 64KiB is smaller than max_frame_bytes"
        " (1MiB): a buffer must hold at least one whole frame"
    ]


# --- sizes and durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (0, 0),
        (4096, 4096),
        ("4096", 4096),
        ("4096B", 4096),
        ("1KiB", 1024),
        ("64MiB", 64 * 2**20),
        ("64 MiB", 64 * 2**20),
        (" 10GiB ", 10 * 2**30),
        ("2TiB", 2 * 2**40),
        ("1KB", 1000),
        ("5MB", 5_000_000),
        ("3GB", 3 * 10**9),
        ("1TB", 10**12),
        ("1.5KiB", 1536),
        ("0.5MiB", 2**19),
        (".25KiB", 256),
    ],
)
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text, "k") == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "k: invalid size '': expected <number><unit> such as '64MiB'"),
        (
            "-1MiB",
            "k: invalid size '-1MiB': expected <number><unit> such as '64MiB'"
            " (negative sizes are not allowed)",
        ),
        (-5, "k: size must not be negative, got -5"),
        ("1.1B", "k: invalid size '1.1B': not a whole number of bytes"),
        (
            "64M",
            "k: invalid size '64M': unknown unit 'M' (did you mean 'MiB'?);"
            " units are B, KB, MB, GB, TB, KiB, MiB, GiB, TiB",
        ),
        (
            "64mb",
            "k: invalid size '64mb': unknown unit 'mb' (did you mean 'MB'?);"
            " units are B, KB, MB, GB, TB, KiB, MiB, GiB, TiB",
        ),
        ("MiB", "k: invalid size 'MiB': expected <number><unit> such as '64MiB'"),
        (True, "k: expected a size such as '64MiB', got a boolean (true)"),
    ],
)
def test_parse_size_errors_name_the_key(text: str | int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_size(text, "k")
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (0, 0.0),
        (5, 5.0),
        (0.25, 0.25),
        ("0", 0.0),
        ("30", 30.0),
        ("1.5", 1.5),
        ("250ms", 0.25),
        ("100ms", 0.1),
        ("1s", 1.0),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("1m 30s", 90.0),
        ("500us", 0.0005),
        ("500µs", 0.0005),
        ("500μs", 0.0005),
        ("10ns", 1e-8),
        (" 5 s ", 5.0),
    ],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text, "k") == pytest.approx(seconds, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "k: invalid duration '': expected <number><unit> such as '250ms'"),
        ("-1s", "k: invalid duration '-1s': durations must not be negative"),
        (-1, "k: duration must be a finite number of seconds >= 0, got -1"),
        (float("inf"), "k: duration must be a finite number of seconds >= 0, got inf"),
        (
            "5 minutes",
            "k: invalid duration '5 minutes': unknown unit 'minutes'"
            " (did you mean 'm'?); units are ns, us, µs, ms, s, m, h",
        ),
        (
            "1h30",
            "k: invalid duration '1h30': a number without a unit;"
            " units are ns, us, µs, ms, s, m, h",
        ),
        ("fast", "k: invalid duration 'fast': expected <number><unit> such as '250ms' or '1m30s'"),
        (False, "k: expected a duration such as '250ms', got a boolean (false)"),
    ],
)
def test_parse_duration_errors_name_the_key(text: str | float, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(text, "k")
    assert str(info.value) == message


UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}


@given(
    n=st.integers(min_value=0, max_value=10**9),
    unit=st.sampled_from(sorted(UNITS)),
    space=st.sampled_from(["", " "]),
)
def test_parse_size_round_trip(n: int, unit: str, space: str) -> None:
    assert parse_size(f"{n}{space}{unit}", "k") == n * UNITS[unit]


@given(st.integers(min_value=0, max_value=2**60))
def test_format_size_round_trips(n: int) -> None:
    assert parse_size(format_size(n), "k") == n


@given(st.integers(min_value=0, max_value=10**12))
def test_format_duration_round_trips_whole_microseconds(micros: int) -> None:
    seconds = micros / 10**6
    assert parse_duration(format_duration(seconds), "k") == pytest.approx(seconds, rel=1e-12)


# --- the documentation stays true ---------------------------------------------------------------

CONFIG_MD = Path(__file__).resolve().parents[2] / "docs" / "CONFIG.md"


def test_yaml_blocks_in_the_docs_load() -> None:
    import re

    blocks = re.findall(r"```yaml\n(.*?)```", CONFIG_MD.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 2
    default, example = (load_config_text(block, "CONFIG.md") for block in blocks)
    assert default == load_config(None)
    assert example.sources["app"].max_connections == 4096
    assert example.sinks["archive"].path == Path("/var/lib/gophership/out/archive.jsonl")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sinks: {o: {<<: 5, type: stdout}}\n",
            [
                "config.yaml:1: sinks.o: invalid merge key: expected a mapping or list of"
                " mappings for merging, but found scalar"
            ],
        ),
        (
            SINK + "resource: {attributes: [a]}\ncontrol: {allowed_uids: 5}\n",
            [
                "config.yaml:2: resource.attributes: expected a mapping, got a list",
                "config.yaml:3: control.allowed_uids: expected a list of uids, got an integer (5)",
            ],
        ),
        (SINK + "? [a]\n: 1\n", ["config.yaml:2: (top level): keys must be plain strings"]),
        (
            "data_dir: " + "d/" * 55 + "\n" + SINK,
            [
                "config.yaml:1: control.socket: default " + "d/" * 55 + "control.sock:"
                " unix socket path is 122 bytes, longer than the 107-byte limit"
                " (use a shorter or relative path)"
            ],
        ),
    ],
)
def test_edge_structure_errors(text: str, expected: list[str]) -> None:
    assert errors_of(text) == expected


# --- OTLP sources and the otlp sink ------------------------------------------------------------


def test_otlp_sources_and_sink() -> None:
    cfg = load(
        """
        sources:
          grpc_in: {type: otlp_grpc, address: "127.0.0.1:4317", max_message_bytes: 128MiB}
          http_in: {type: otlp_http, address: "[::1]:4318"}
        sinks:
          up:
            type: otlp
            protocol: http
            endpoint: "https://collector.example:4318/custom/path"
            headers: {X-Tenant: acme, X-Number: 7}
            compression: none
            tls: {ca_file: /etc/ca.pem, cert_file: /etc/c.pem, key_file: /etc/k.pem}
        """
    )
    assert cfg.sources["grpc_in"].max_message_bytes == 128 << 20
    assert (cfg.sources["http_in"].host, cfg.sources["http_in"].port) == ("::1", 4318)
    assert cfg.sources["http_in"].max_message_bytes == 64 << 20
    up = cfg.sinks["up"]
    assert (up.protocol, up.endpoint, up.compression) == (
        "http",
        "https://collector.example:4318/custom/path",
        "none",
    )
    assert dict(up.headers) == {"x-tenant": "acme", "x-number": "7"}
    assert up.tls is not None
    assert str(up.tls.cert_file) == "/etc/c.pem"


def test_otlp_sink_defaults() -> None:
    cfg = load("sinks: {up: {type: otlp, endpoint: 'http://127.0.0.1:4317'}}\n")
    up = cfg.sinks["up"]
    assert (up.protocol, up.compression, up.tls, dict(up.headers)) == ("grpc", "gzip", None, {})


def test_otlp_errors_name_the_key() -> None:
    assert errors_of(
        """
        sources:
          a: {type: otlp_grpc, address: "127.0.0.1:0", max_frame_bytes: 1KiB}
          b: {type: otlp_http, address: "127.0.0.1:0", max_message_bytes: 2GiB}
        sinks:
          c: {type: otlp}
          d: {type: otlp, endpoint: "ftp://x:1", protocol: smtp}
          e: {type: otlp, endpoint: "http://h:99999", headers: {"a b": x, ok: [1]}}
          f: {type: otlp, endpoint: "http://h:1", tls: {cert_file: /c.pem, bogus: 1}}
          g: {type: file, endpoint: "http://h:1"}
        """
    ) == [
        "config.yaml:3: sources.a.max_frame_bytes: not valid for source type otlp_grpc"
        " (only for ndjson_tcp, ndjson_unix, syslog_tcp, syslog_udp)",
        "config.yaml:4: sources.b.max_message_bytes: 2GiB is out of range (1KiB..1GiB)",
        'config.yaml:6: sinks.c.endpoint: required (an "http://host:port" or "https://..." URL)',
        "config.yaml:7: sinks.d.endpoint: 'ftp://x:1' is not an http:// or https:// URL",
        "config.yaml:7: sinks.d.protocol: expected one of grpc, http, got the string 'smtp'",
        "config.yaml:8: sinks.e.endpoint: 'http://h:99999': port 99999 is out of range (1..65535)",
        "config.yaml:8: sinks.e.headers.a b: not a valid header name",
        "config.yaml:8: sinks.e.headers.ok: expected a string, got a list",
        "config.yaml:9: sinks.f.tls: cert_file and key_file go together (a client certificate"
        " needs its key)",
        "config.yaml:9: sinks.f.tls.bogus: unknown key (expected one of: ca_file, cert_file,"
        " key_file, server_name)",
        "config.yaml:10: sinks.g.endpoint: not valid for sink type file (only for otlp)",
    ]


# --- TLS and the control listeners -------------------------------------------------------------


def test_tls_on_sources_metrics_and_control_tcp() -> None:
    config = load(
        """
        data_dir: /d
        sources:
          app: {type: ndjson_tcp, address: "127.0.0.1:1",
                tls: {cert_file: s.pem, key_file: s.key}}
          sys: {type: syslog_tcp, address: "127.0.0.1:2",
                tls: {cert_file: s.pem, key_file: s.key, client_ca_file: ca.pem}}
        sinks: {out: {type: blackhole}}
        metrics: {address: "127.0.0.1:3", tls: {cert_file: m.pem, key_file: m.key}}
        control:
          tcp: {tls: {cert_file: c.pem, key_file: c.key, client_ca_file: ca.pem}}
        """
    )
    app, sys_ = config.sources["app"].tls, config.sources["sys"].tls
    assert app is not None and sys_ is not None
    assert (app.cert_file, app.key_file, app.client_ca_file) == (Path("s.pem"), Path("s.key"), None)
    assert app.origin == "sources.app.tls"
    assert sys_.client_ca_file == Path("ca.pem")
    assert config.metrics.tls is not None and config.metrics.tls.origin == "metrics.tls"
    tcp = config.control.tcp
    assert tcp is not None
    assert (tcp.host, tcp.port) == ("127.0.0.1", 9092)  # the default address
    assert tcp.tls.client_ca_file == Path("ca.pem")
    assert config.control.audit_log == Path("/d/audit.log")


def test_tls_is_off_by_default_and_control_tcp_absent() -> None:
    config = load('sources:\n  app: {type: ndjson_tcp, address: "127.0.0.1:1"}\n' + SINK)
    assert config.sources["app"].tls is None
    assert config.metrics.tls is None
    assert config.control.tcp is None
    assert config.control.audit_log == Path("gophership-data/audit.log")


def test_tls_errors_name_the_key() -> None:
    assert errors_of(
        """
        sources:
          udp: {type: syslog_udp, address: "127.0.0.1:1", tls: {cert_file: a, key_file: b}}
          app: {type: ndjson_tcp, address: "127.0.0.1:2", tls: {cert_file: a}}
        sinks: {out: {type: blackhole}}
        metrics: {tls: {cert_file: a, key_file: b, client_ca: c}}
        control:
          tcp: {address: "127.0.0.1:9", tls: {cert_file: a, key_file: b}}
        """
    ) == [
        "config.yaml:3: sources.udp.tls: not valid for source type syslog_udp"
        " (only for ndjson_tcp, otlp_grpc, otlp_http, syslog_tcp)",
        "config.yaml:4: sources.app.tls.key_file: required (a PEM private key file)",
        "config.yaml:6: metrics.tls.client_ca: unknown key (did you mean 'client_ca_file'?)",
        "config.yaml:8: control.tcp.tls.client_ca_file: required"
        " (a PEM CA file for client certificates)",
    ]


def test_control_tcp_requires_tls() -> None:
    assert errors_of("control: {tcp: {address: '127.0.0.1:9'}}\n" + SINK) == [
        "config.yaml:1: control.tcp.tls: required (control over TCP is mutual TLS only:"
        " cert_file, key_file and client_ca_file)"
    ]


def test_control_tcp_clashes_with_metrics() -> None:
    errors = errors_of(
        "metrics: {address: '127.0.0.1:9092'}\n"
        "control: {tcp: {tls: {cert_file: a, key_file: b, client_ca_file: c}}}\n" + SINK
    )
    assert errors == [
        "config.yaml:2: control.tcp.address: 127.0.0.1:9092 is already bound by metrics"
        " (TCP, line 1)"
    ]
