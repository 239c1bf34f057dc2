"""Syslog frames (RFC 5424 and RFC 3164) to OTLP/JSON ``LogRecord`` dicts (sans-IO).

The version after ``<PRI>`` picks the parser per frame: ``[1-9][0-9]{0,2} SP`` is RFC 5424,
anything else RFC 3164. Mapping (names follow the OpenTelemetry Collector syslog receiver):

* ``body``: MSG as ``stringValue`` (a leading UTF-8 BOM removed); an empty ``AnyValue`` when
  the RFC 5424 message has no MSG at all; ``bytesValue`` when MSG is not UTF-8.
* ``timeUnixNano``: the TIMESTAMP (absent for NILVALUE). RFC 3164 ``Mmm dd hh:mm:ss`` has no
  year and no zone: UTC, in the year (observed year -1, 0 or +1) closest to the observed time.
* ``severityNumber``/``severityText``: syslog severity mapped per the OTel data model
  appendix B (emerg→FATAL 21, alert→ERROR3 19, crit→ERROR2 18, err→ERROR 17, warning→WARN 13,
  notice→INFO2 10, info→INFO 9, debug→DEBUG 5); the text is the RFC 5424 keyword.
* attributes ``priority``, ``facility`` (ints), ``version`` (RFC 5424), ``hostname``,
  ``appname`` (RFC 3164: the TAG), ``proc_id``, ``msg_id``, ``structured_data`` (kvlist of
  SD-ID → kvlist of PARAM-NAME → string, values unescaped per RFC 5424 §6.3.3). A NILVALUE
  field is left out.

Rules:

1. Every frame gives exactly one record. A frame that is not syslog keeps the whole frame as
   its body and gets ``gophership.parse_error`` = one of :data:`PARSE_ERRORS`.
2. RFC 5424 is checked strictly (field lengths, PRINTUSASCII, SD syntax, timestamp per §6.2.3).
   RFC 3164 accepts what real senders emit; its only hard error is a missing or bad PRI. A
   frame without PRI is an error (``missing_pri``) that still carries the RFC 3164 §4.3.3
   default PRI 13 (user.notice).
3. :func:`parse_frame` makes one pass over each frame with ``str.split``/``find``; it is the
   reference.
4. A ``SYSLOG_LINE`` chunk goes through :func:`decode_line_chunk` (a ``SYSLOG_OCTET`` chunk
   too, joined with LF, when no frame is empty or holds LF, CR or NUL): one regex over the
   whole chunk (:data:`_FAST`) recognises the common valid RFC 5424 and RFC 3164 shapes in C
   and builds their records from cached parts; every other line goes through
   :func:`parse_frame`. A property test holds both to the same records.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING, Final

from gophership.protocol.framing import split_frames
from gophership.protocol.timestamp import civil_from_days, parse_rfc3339, unix_seconds
from gophership.record import Codec

if TYPE_CHECKING:
    from gophership.record import AnyValueJSON, KeyValueJSON, LogRecordJSON

__all__ = [
    "PARSE_ERRORS",
    "SEVERITY",
    "decode_frames",
    "decode_line_chunk",
    "decode_octet_chunk",
    "parse_frame",
]

PARSE_ERRORS: Final = frozenset(
    {
        "missing_pri",
        "invalid_pri",
        "invalid_header",
        "invalid_timestamp",
        "invalid_structured_data",
    }
)
"""The closed set of ``gophership.parse_error`` values this module produces."""

SEVERITY: Final = (
    (21, "emerg"),
    (19, "alert"),
    (18, "crit"),
    (17, "err"),
    (13, "warning"),
    (10, "notice"),
    (9, "info"),
    (5, "debug"),
)
"""Syslog severity 0..7 → (OTel SeverityNumber, keyword); OTel data model appendix B."""

_PRI: Final = tuple(str(i) for i in range(192))
_PRI_LOOKUP: Final = {s: i for i, s in enumerate(_PRI)}
_VERSIONS: Final = {str(i): i for i in range(1, 1000)}
_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_BSD_TS: Final = re.compile(
    r" ?([A-Za-z]{3}) ([ 0-9]?[0-9]) (?:([0-9]{4}) )?([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?: ([0-9]{4})(?= |$))?:?(?: |$)"
)
_SD_NAME_BAD: Final = frozenset('= ]"')
_PARSE_ERROR: Final = "gophership.parse_error"


# Shared, never mutated: records are read-only once built (copy a sub-dict to change it).
def _int_kv(key: str, value: int) -> KeyValueJSON:
    return {"key": key, "value": {"intValue": str(value)}}


_PRI_ATTRS: Final = tuple((_int_kv("priority", p), _int_kv("facility", p >> 3)) for p in range(192))
_VERSION_ATTRS: Final = {v: _int_kv("version", v) for v in range(1, 1000)}
_NS: Final = 1_000_000_000
_DAY_NS: Final = 86400 * _NS
_MONTH_NS: Final = 31 * _DAY_NS


def _printusascii(s: str, limit: int) -> bool:
    return 0 < len(s) <= limit and s.isascii() and s.isprintable()


def _sd_name(s: str) -> bool:
    return _printusascii(s, 32) and _SD_NAME_BAD.isdisjoint(s)


class _Invalid(Exception):
    """Internal: the frame is not valid syslog; ``args[0]`` is the parse_error reason."""


def _parse_sd(s: str) -> tuple[list[KeyValueJSON], str | None]:
    """Parse STRUCTURED-DATA starting at ``s[0] == "["``; return (elements, MSG or None)."""
    elements: list[KeyValueJSON] = []
    seen: set[str] = set()
    n = len(s)
    i = 0
    while True:
        # s[i] == "["
        j = i + 1
        while j < n and s[j] != " " and s[j] != "]":
            j += 1
        sd_id = s[i + 1 : j]
        if j >= n or not _sd_name(sd_id) or sd_id in seen:
            raise _Invalid("invalid_structured_data")
        seen.add(sd_id)
        params: list[KeyValueJSON] = []
        while s[j] == " ":
            eq = s.find("=", j + 1)
            if eq == -1 or eq + 1 >= n or s[eq + 1] != '"':
                raise _Invalid("invalid_structured_data")
            name = s[j + 1 : eq]
            if not _sd_name(name):
                raise _Invalid("invalid_structured_data")
            k = eq + 2
            q = s.find('"', k)
            if q == -1:
                raise _Invalid("invalid_structured_data")
            raw = s[k:q]
            if "\\" in raw:
                value, q = _unescape(s, k)
            elif "]" in raw:
                raise _Invalid("invalid_structured_data")  # RFC 5424 §6.3.3: MUST be escaped
            else:
                value = raw
            params.append({"key": name, "value": {"stringValue": value}})
            j = q + 1
            if j >= n:
                raise _Invalid("invalid_structured_data")
        if s[j] != "]":
            raise _Invalid("invalid_structured_data")
        elements.append({"key": sd_id, "value": {"kvlistValue": {"values": params}}})
        i = j + 1
        if i == n:
            return elements, None
        c = s[i]
        if c == " ":
            return elements, s[i + 1 :]
        if c != "[":
            raise _Invalid("invalid_structured_data")


def _unescape(s: str, k: int) -> tuple[str, int]:
    """PARAM-VALUE from ``s[k]`` to its closing quote; RFC 5424 §6.3.3 escapes."""
    out: list[str] = []
    n = len(s)
    while k < n:
        c = s[k]
        if c == "\\" and k + 1 < n and s[k + 1] in '"\\]':
            out.append(s[k + 1])
            k += 2
            continue
        if c == '"':
            return "".join(out), k
        if c == "]":
            raise _Invalid("invalid_structured_data")
        out.append(c)
        k += 1
    raise _Invalid("invalid_structured_data")


def _body(msg: str, raw: bytes | None) -> AnyValueJSON:
    if raw is not None:  # the frame was not UTF-8: ``msg`` is latin-1, i.e. the raw bytes
        return {"bytesValue": base64.b64encode(msg.encode("latin-1")).decode("ascii")}
    if msg[:1] == "\ufeff":
        msg = msg[1:]
    return {"stringValue": msg}


def _bsd_year_ns(mo: int, d: int, h: int, mi: int, s: int, observed_ns: int) -> int | None:
    # The observed year, unless that puts the time over a month in the future (a December
    # line read in January: last year) or eleven months in the past (a January line read
    # in late December: next year).
    year = civil_from_days(observed_ns // _DAY_NS)[0]
    secs = unix_seconds(year, mo, d, h, mi, s)
    if secs is None:
        return None
    t = secs * _NS
    if t - observed_ns > _MONTH_NS:
        year -= 1
    elif observed_ns - t > 11 * _MONTH_NS:
        year += 1
    else:
        return t
    secs = unix_seconds(year, mo, d, h, mi, s)
    return None if secs is None else secs * _NS


def _rfc5424(
    rest: str, raw: bytes | None, attrs: list[KeyValueJSON]
) -> tuple[AnyValueJSON, int | None]:
    parts = rest.split(" ", 5)
    if len(parts) < 6:
        raise _Invalid("invalid_header")
    ts, host, app, procid, msgid, sd = parts
    # RFC 5424 §6: header fields are 1*PRINTUSASCII; one check covers the four of them.
    header = rest[: len(rest) - len(sd)]
    if (
        not header.isascii()
        or not header.isprintable()
        or not host
        or not app
        or not procid
        or not msgid
        or len(host) > 255
        or len(app) > 48
        or len(procid) > 128
        or len(msgid) > 32
    ):
        raise _Invalid("invalid_header")
    if host != "-":
        attrs.append({"key": "hostname", "value": {"stringValue": host}})
    if app != "-":
        attrs.append({"key": "appname", "value": {"stringValue": app}})
    if procid != "-":
        attrs.append({"key": "proc_id", "value": {"stringValue": procid}})
    if msgid != "-":
        attrs.append({"key": "msg_id", "value": {"stringValue": msgid}})
    if ts == "-":
        time_ns = None
    else:
        time_ns = parse_rfc3339(ts, True)
        if time_ns is None:
            raise _Invalid("invalid_timestamp")
    msg: str | None
    c = sd[:1]
    if c == "-":
        if len(sd) == 1:
            msg = None
        elif sd[1] == " ":
            msg = sd[2:]
        else:
            raise _Invalid("invalid_structured_data")
    elif c == "[":
        elements, msg = _parse_sd(sd)
        attrs.append({"key": "structured_data", "value": {"kvlistValue": {"values": elements}}})
    else:
        raise _Invalid("invalid_structured_data")
    return ({} if msg is None else _body(msg, raw)), time_ns


def _rfc3164(
    rest: str, raw: bytes | None, attrs: list[KeyValueJSON], observed_ns: int
) -> tuple[AnyValueJSON, int | None]:
    time_ns: int | None = None
    m = _BSD_TS.match(rest)
    if m is not None and m.group(1).lower() in _MONTHS:
        year = m.group(3) or m.group(7)
        mo = _MONTHS[m.group(1).lower()]
        day = m.group(2).strip()
        args = (mo, int(day or "0"), int(m.group(4)), int(m.group(5)), int(m.group(6)))
        if year is not None:
            secs = unix_seconds(int(year), *args)
            time_ns = None if secs is None else secs * _NS
        else:
            time_ns = _bsd_year_ns(*args, observed_ns)
        rest = rest[m.end() :]
        has_ts = True
    else:
        token = rest.lstrip(" ").split(" ", 1)[0]
        time_ns = parse_rfc3339(token, False) if len(token) >= 19 else None
        has_ts = time_ns is not None
        rest = rest.lstrip(" ")
        if has_ts:
            rest = rest[len(token) + 1 :]
    if has_ts and rest:
        # HOSTNAME, unless the first word already looks like a TAG ("root:", "sshd[1]:").
        word, _, after = rest.partition(" ")
        looks_tag = (word.endswith(":") and ":" not in word[:-1]) or (
            "[" in word and word.endswith(("]", "]:"))
        )
        if not looks_tag:
            attrs.append({"key": "hostname", "value": {"stringValue": word}})
            rest = after
    # TAG: the first word when it ends in ":" or "[pid]:" (RFC 3164 §4.1.3, as senders do it).
    end = len(rest)
    for ch in "[: ":
        p = rest.find(ch, 0, end)
        if p != -1:
            end = p
    if 0 < end < len(rest):
        stop = rest[end]
        if stop == ":":
            attrs.append({"key": "appname", "value": {"stringValue": rest[:end]}})
            rest = rest[end + 1 :]
            if rest[:1] == " ":
                rest = rest[1:]
        elif stop == "[":
            close = rest.find("]", end)
            if close != -1 and rest[close + 1 : close + 2] in (":", ""):
                attrs.append({"key": "appname", "value": {"stringValue": rest[:end]}})
                attrs.append({"key": "proc_id", "value": {"stringValue": rest[end + 1 : close]}})
                rest = rest[close + 2 :]
                if rest[:1] == " ":
                    rest = rest[1:]
    return _body(rest, raw), time_ns


def parse_frame(frame: bytes, observed_ns: int, observed: str) -> tuple[LogRecordJSON, str | None]:
    """One syslog frame to a record; the second item is the parse_error reason or None.

    ``observed`` is ``str(observed_ns)``, computed once per chunk by the caller.
    """
    raw: bytes | None = None
    try:
        text = frame.decode()
    except UnicodeDecodeError:
        raw = frame
        text = frame.decode("latin-1")  # headers are ASCII; MSG goes out as bytesValue
    attrs: list[KeyValueJSON] = []
    reason: str | None
    pri = -1
    try:
        if text[:1] != "<":
            raise _Invalid("missing_pri")
        gt = text.find(">", 1, 5)
        pri = _PRI_LOOKUP.get(text[1:gt], -1) if gt != -1 else -1
        if pri < 0:
            raise _Invalid("invalid_pri")
        attrs.extend(_PRI_ATTRS[pri])
        j = gt + 1
        if text[j + 1 : j + 2] == " " and "1" <= text[j : j + 1] <= "9":
            k = j + 1  # the common case: VERSION "1"
        else:
            k = j
            while k < j + 4 and text[k : k + 1].isdigit():
                k += 1
            if k == j or text[k : k + 1] not in ("", " "):
                k = -1
        if k != -1:
            # RFC 5424 §6: VERSION = NONZERO-DIGIT 0*2DIGIT, then SP and the header.
            version = _VERSIONS.get(text[j:k])
            if version is None or k == len(text):
                raise _Invalid("invalid_header")
            attrs.append(_VERSION_ATTRS[version])
            body, time_ns = _rfc5424(text[k + 1 :], raw, attrs)
        elif text[j : j + 1] == " " and text[j + 1 : j + 2].isdigit():
            raise _Invalid("invalid_header")  # an RFC 5424 header without its VERSION
        else:
            body, time_ns = _rfc3164(text[j:], raw, attrs, observed_ns)
        reason = None
    except _Invalid as exc:
        reason = exc.args[0]
        if reason == "missing_pri":
            pri = 13  # RFC 3164 §4.3.3: a relay treats a frame without PRI as user.notice
        attrs = []
        if pri >= 0:
            attrs.extend(_PRI_ATTRS[pri])
        attrs.append({"key": _PARSE_ERROR, "value": {"stringValue": reason}})
        body = (
            {"stringValue": text}
            if raw is None
            else {"bytesValue": base64.b64encode(raw).decode("ascii")}
        )
        time_ns = None
    record: LogRecordJSON = {"observedTimeUnixNano": observed, "body": body, "attributes": attrs}
    if pri >= 0:
        number, keyword = SEVERITY[pri & 7]
        record["severityNumber"] = number
        record["severityText"] = keyword
    if time_ns is not None:
        record["timeUnixNano"] = str(time_ns)
    return record, reason


def decode_frames(
    frames: list[bytes], observed_ns: int, reasons: dict[str, int]
) -> list[LogRecordJSON]:
    """Records for ``frames`` (one each); parse errors are counted into ``reasons``."""
    observed = str(observed_ns)
    records: list[LogRecordJSON] = []
    append = records.append
    for frame in frames:
        record, reason = parse_frame(frame, observed_ns, observed)
        append(record)
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    return records


# Rule 4: the chunk fast path. Each alternative accepts only lines that parse_frame would
# accept, and builds the very record parse_frame would build; anything it does not accept
# (and the rare line it accepts but cannot finish: an impossible date, a repeated SD-ID, a
# time before 1970) goes to parse_frame. Records share cached parts: they are read-only.
_FAST_CACHE_ENTRIES: Final = 4096
"""Bound of each fast-path cache (headers, SD, tags, times); a full cache is cleared."""
_SD_NAME_RE: Final = r"[!#-<>-\\^-~]{1,32}"  # PRINTUSASCII except '=', ']', '"' (§6.3.2)
_SD_PARAMS_RE: Final = r"(?: " + _SD_NAME_RE + r'="[^"\\\]\n]*")*'  # no escapes, no ']'
_PRI_RE: Final = r"(?:1[0-8][0-9]|19[01]|[1-9]?[0-9])"  # 0..191, no leading zero
_TAG_CHAR: Final = r"[^ :\[\n]"
_FAST: Final = re.compile(
    # RFC 5424: 1 "<PRI>VERSION ", 2 "YYYY-MM-DDTHH:MM:SS", 3 fraction digits, 4 zone,
    # 5 "HOST APP PROCID MSGID", 6 STRUCTURED-DATA, 7 the first SD-ID, 8 its params,
    # 9 more SD elements, 10 " " and a BOM when MSG is there, 11 MSG.
    r"^(?:(<" + _PRI_RE + r">[1-9][0-9]{0,2} )"
    r"(?:-|([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])) "
    r"([!-~]{1,255} [!-~]{1,48} [!-~]{1,128} [!-~]{1,32}) "
    r"(-|\[(" + _SD_NAME_RE + r")(" + _SD_PARAMS_RE + r")\]"
    r"((?:\[" + _SD_NAME_RE + _SD_PARAMS_RE + r"\])*))"
    r"(?:( \ufeff?)(.*))?$"
    # RFC 3164: 12 PRI, 13 "Mmm dd hh:mm:ss", 14 "HOST TAG[PID]" (or "HOST " without a TAG:
    # the first word then ends at a space or at the end of the line), 15 MSG.
    r"|<(" + _PRI_RE + r")>"
    r"((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 0-9]?[0-9]"
    r" [0-9]{2}:[0-9]{2}:[0-9]{2}) "
    r"((?![0-9]{4} )" + _TAG_CHAR + r"+ (?:" + _TAG_CHAR + r"+(?:\[[^\]\n]*\])?(?=:)"
    r"|(?=" + _TAG_CHAR + r"+(?: |$))))(?:: ?)?\ufeff?(.*)"
    # 16: any other line, for parse_frame.
    r"|(.+))",
    re.MULTILINE,
)
_SD_ELEMENT: Final = re.compile(r"\[([^ \]]+)([^\]]*)\]")
_SD_PARAM: Final = re.compile(r' ([^=]+)="([^"]*)"')
_PRI_INFO: Final = {
    str(p): (_PRI_ATTRS[p], SEVERITY[p & 7][0], SEVERITY[p & 7][1]) for p in range(192)
}
_HeadEntry = tuple[tuple["KeyValueJSON", ...], int, str]
_BsdEntry = tuple[int, int | None, str, tuple[int, int, int, int, int]]
_heads: dict[str, _HeadEntry] = {}
_sds: dict[str, KeyValueJSON | None] = {}
_tags: dict[str, tuple[KeyValueJSON, ...]] = {}
_times: dict[str, dict[str, str | None]] = {}
_bsd_times: dict[str, _BsdEntry] = {}


def _str_kv(key: str, value: str) -> KeyValueJSON:
    return {"key": key, "value": {"stringValue": value}}


def _head(key: str, lead: str, hdr: str) -> _HeadEntry:
    """Attributes before STRUCTURED-DATA of a "<PRI>VERSION " and "HOST APP PROCID MSGID"."""
    gt = lead.index(">")
    pri = int(lead[1:gt])
    attrs = [*_PRI_ATTRS[pri], _VERSION_ATTRS[int(lead[gt + 1 : -1])]]
    names = ("hostname", "appname", "proc_id", "msg_id")
    attrs.extend(_str_kv(n, v) for n, v in zip(names, hdr.split(" "), strict=True) if v != "-")
    number, keyword = SEVERITY[pri & 7]
    if len(_heads) >= _FAST_CACHE_ENTRIES:
        _heads.clear()
    entry = _heads[key] = (tuple(attrs), number, keyword)
    return entry


def _sd_params(params: str) -> list[KeyValueJSON]:
    return [{"key": n, "value": {"stringValue": v}} for n, v in _SD_PARAM.findall(params)]


def _chunk_sd_kv(sd: str, sd_id: str, params: str, more: str) -> KeyValueJSON | None:
    """The structured_data attribute of an SD the fast regex accepted; None if an SD-ID repeats."""
    elements: list[KeyValueJSON] = [
        {"key": sd_id, "value": {"kvlistValue": {"values": _sd_params(params)}}}
    ]
    kv: KeyValueJSON | None = {
        "key": "structured_data",
        "value": {"kvlistValue": {"values": elements}},
    }
    if more:
        seen = {sd_id}
        for other_id, other_params in _SD_ELEMENT.findall(more):
            if other_id in seen:
                kv = None  # §6.3.2: parse_frame reports it
                break
            seen.add(other_id)
            elements.append(
                {"key": other_id, "value": {"kvlistValue": {"values": _sd_params(other_params)}}}
            )
    if len(_sds) >= _FAST_CACHE_ENTRIES:
        _sds.clear()
    _sds[sd] = kv
    return kv


def _time_base(sec: str, zone: str) -> str | None:
    """UTC epoch seconds of "YYYY-MM-DDTHH:MM:SS" + zone as a string; None if invalid or < 1."""
    ns = parse_rfc3339(sec + zone, True)
    base = None if ns is None or ns < _NS else str(ns // _NS)
    cache = _times.get(zone)
    if cache is None or len(cache) >= _FAST_CACHE_ENTRIES:
        if len(_times) >= 64:
            _times.clear()
        cache = _times[zone] = {}
    cache[sec] = base
    return base


def _tag_attrs(span: str) -> tuple[KeyValueJSON, ...]:
    """Hostname, appname and proc_id attributes of an RFC 3164 "HOST TAG[PID]" span."""
    host, _, tag = span.partition(" ")
    attrs = [_str_kv("hostname", host)]
    if tag[-1:] == "]":
        app, _, pid = tag[:-1].partition("[")
        attrs += (_str_kv("appname", app), _str_kv("proc_id", pid))
    elif tag:
        attrs.append(_str_kv("appname", tag))
    if len(_tags) >= _FAST_CACHE_ENTRIES:
        _tags.clear()
    entry = _tags[span] = tuple(attrs)
    return entry


def _bsd_time(ts: str, year: int) -> _BsdEntry:
    """RFC 3164 "Mmm dd hh:mm:ss" in ``year``: (year, ns or None, ns as str, the fields)."""
    day, hms = ts[4:].rsplit(" ", 1)
    args = (_MONTHS[ts[:3].lower()], int(day), int(hms[:2]), int(hms[3:5]), int(hms[6:]))
    secs = unix_seconds(year, *args)
    t = None if secs is None else secs * _NS
    if len(_bsd_times) >= _FAST_CACHE_ENTRIES:
        _bsd_times.clear()
    entry = _bsd_times[ts] = (year, t, str(t), args)
    return entry


def decode_line_chunk(
    data: bytes, observed_ns: int, reasons: dict[str, int]
) -> list[LogRecordJSON]:
    """Records for a ``SYSLOG_LINE`` chunk, as ``decode_frames(split_frames(...))`` (rule 4).

    A chunk that is not UTF-8 as a whole goes frame by frame through :func:`decode_frames`.
    """
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return decode_frames(split_frames(Codec.SYSLOG_LINE, data), observed_ns, reasons)
    # The frames of split_frames: NUL ends a frame too, a CR before LF (or at the end of
    # the chunk) is part of the line ending; the regex skips empty lines.
    if "\0" in text:
        text = text.replace("\0", "\n")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if text[-1] == "\r":
            text = text[:-1]
    observed = str(observed_ns)
    year = civil_from_days(observed_ns // _DAY_NS)[0]
    bsd_lo = observed_ns - 11 * _MONTH_NS
    bsd_hi = observed_ns + _MONTH_NS
    heads = _heads
    sds = _sds
    times = _times
    tags = _tags
    bsd_times = _bsd_times
    pri_info = _PRI_INFO
    records: list[LogRecordJSON] = []
    append = records.append
    attrs: list[KeyValueJSON]
    sd_kv: KeyValueJSON | None
    for (
        lead,
        sec,
        frac,
        zone,
        hdr,
        sd,
        sd_id,
        params,
        more,
        sp,
        msg,
        pri,
        bts,
        span,
        bmsg,
        other,
    ) in _FAST.findall(text):
        if lead:
            head = heads.get(lead + hdr) or _head(lead + hdr, lead, hdr)
            if sd_id:
                sd_kv = sds.get(sd) or _chunk_sd_kv(sd, sd_id, params, more)
                attrs = [*head[0], sd_kv] if sd_kv is not None else []
            else:
                sd_kv = None
                attrs = [*head[0]]
            base = None
            if sec:
                try:
                    base = times[zone][sec]
                except KeyError:
                    base = _time_base(sec, zone)
            if attrs and (base is not None or not sec):
                record: LogRecordJSON = {
                    "observedTimeUnixNano": observed,
                    "body": {"stringValue": msg} if sp else {},
                    "attributes": attrs,
                    "severityNumber": head[1],
                    "severityText": head[2],
                }
                if base is not None:  # last key, as parse_frame orders them
                    record["timeUnixNano"] = base + frac.ljust(9, "0")
                append(record)
                continue
            ts = (f"{sec}.{frac}{zone}" if frac else sec + zone) if sec else "-"
            other = f"{lead}{ts} {hdr} {sd}{sp}{msg}"
        elif pri:
            pri_attrs, number, keyword = pri_info[pri]
            tag_attrs = tags.get(span) or _tag_attrs(span)
            when = bsd_times.get(bts)
            if when is None or when[0] != year:
                when = _bsd_time(bts, year)
            t = when[1]
            if t is None:
                time_str = None
            elif bsd_lo <= t <= bsd_hi:
                time_str = when[2]
            else:  # the line is from another year: parse_frame's rule
                t = _bsd_year_ns(*when[3], observed_ns)
                time_str = None if t is None else str(t)
            record = {
                "observedTimeUnixNano": observed,
                "body": {"stringValue": bmsg},
                "attributes": [*pri_attrs, *tag_attrs],
                "severityNumber": number,
                "severityText": keyword,
            }
            if time_str is not None:
                record["timeUnixNano"] = time_str
            append(record)
            continue
        record, reason = parse_frame(other.encode(), observed_ns, observed)
        append(record)
        if reason is not None:
            reasons[reason] = reasons.get(reason, 0) + 1
    return records


def decode_octet_chunk(
    data: bytes, observed_ns: int, reasons: dict[str, int]
) -> list[LogRecordJSON]:
    """Records for a ``SYSLOG_OCTET`` chunk, as ``decode_frames(split_frames(...))`` (rule 4).

    When no frame is empty or holds LF, CR or NUL, the frames joined with LF are the lines
    of a ``SYSLOG_LINE`` chunk with the same frames, so they take the chunk fast path.
    Trailing NULs are a frame's trailer, not its message (CPython's ``SysLogHandler`` ends
    every datagram with one) and are dropped; a final LF is kept, as rsyslog counts it in
    octet-counted frames and its receivers keep it in MSG.
    """
    frames = split_frames(Codec.SYSLOG_OCTET, data)
    if data.find(b"\0") != -1:  # one scan of the chunk spares the per-frame strip
        frames = [frame.rstrip(b"\0") for frame in frames]
    joined = b"\n".join(frames)
    if (
        joined.count(b"\n") == len(frames) - 1
        and joined.find(b"\r") == -1
        and joined.find(b"\0") == -1
        and all(frames)
    ):
        return decode_line_chunk(joined, observed_ns, reasons)
    return decode_frames(frames, observed_ns, reasons)
