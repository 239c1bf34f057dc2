"""One contract for every sink, modelled on trio's ``_check_streams.py``.

``await check_sink(make_sink)`` runs the contract in :mod:`gophership.sinks.base` against
fresh sinks from ``make_sink`` and raises ``AssertionError`` at the first breach. It returns
the batches it delivered to the first sink, in order, so the caller can check what reached the
real destination (the file, stdout, the fake's list).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from gophership.errors import ClosedResourceError
from gophership.sinks.base import ExportBatch, SinkStatistics

if TYPE_CHECKING:
    from collections.abc import Callable

    from gophership.sinks.base import Sink


def _batch(i: int, records: int) -> ExportBatch:
    body = b",".join(b'{"n":%d}' % n for n in range(records))
    return ExportBatch(payload=b'{"batch":%d,"records":[%s]}\n' % (i, body), records=records)


async def check_sink(make_sink: Callable[[], Sink]) -> list[ExportBatch]:
    """Hold the sinks ``make_sink`` builds to the sink contract; return what was delivered."""
    sink = make_sink()
    assert isinstance(sink.name, str), "a sink has a str name"
    assert sink.name, "a sink has a non-empty name"
    assert sink.statistics() == SinkStatistics(), "a new sink has counted nothing"

    # Sequential sends are counted and delivered in order.
    sent = [_batch(0, 1), _batch(1, 3)]
    for batch in sent:
        await sink.send(batch)
    st = sink.statistics()
    assert st.sent_batches == 2, st
    assert st.sent_records == 4, st
    assert st.sent_bytes == sum(len(b.payload) for b in sent), st
    assert (st.failed_batches, st.failed_records, st.retries) == (0, 0, 0), st

    # A retried batch (attempt > 0) counts as a retry.
    retried = ExportBatch(payload=_batch(2, 2).payload, records=2, attempt=1)
    await sink.send(retried)
    sent.append(retried)
    assert sink.statistics().retries == 1, sink.statistics()

    # Concurrent sends all complete and are all counted.
    burst = [_batch(i, 1) for i in range(3, 8)]
    await asyncio.gather(*(sink.send(b) for b in burst))
    sent.extend(burst)
    st = sink.statistics()
    assert st.sent_batches == len(sent), st
    assert st.sent_bytes == sum(len(b.payload) for b in sent), st

    # aclose is idempotent; send after it raises ClosedResourceError and counts nothing.
    await sink.aclose()
    await sink.aclose()
    before = sink.statistics()
    try:
        await sink.send(_batch(99, 1))
    except ClosedResourceError:
        pass
    else:
        raise AssertionError("send after aclose must raise ClosedResourceError")
    assert sink.statistics() == before, "a refused send is not counted"

    # A sink closed before it ever sent closes cleanly and refuses sends too.
    unused = make_sink()
    await unused.aclose()
    try:
        await unused.send(_batch(100, 1))
    except ClosedResourceError:
        pass
    else:
        raise AssertionError("send after aclose must raise ClosedResourceError")
    assert unused.statistics() == SinkStatistics(), "a closed, unused sink counted nothing"
    return sent
