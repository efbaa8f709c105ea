"""The append/read workloads of benchmarks/append.py, shared by both sides (standard library only).

Both sides (threadlog's EventStore and the `eventsourcing` library's recorders) run exactly this: the same
number of events, the same ~200-byte JSON payloads, the same streams (100 events each), the same writers.

A side provides `make_appender()` -> `append(stream, first_version, payloads)` (called in the writer process,
after any fork) and `read_all()` -> number of events read.
"""
from __future__ import annotations

import json
import multiprocessing
import time
from typing import Callable

STREAM_LEN = 100  # events per stream
PAYLOAD_BYTES = 200


def payload(i: int) -> dict:
    """A CommentPosted-shaped payload whose canonical JSON is ~200 bytes."""
    data = {
        "author_email": None,
        "author_id": f"guest:{i:012d}",
        "author_name": f"reader {i % 997}",
        "body": "",
        "comment_id": f"00000000-0000-4000-8000-{i:012d}",
        "parent_id": None,
    }
    size = len(json.dumps(data, sort_keys=True, separators=(",", ":")))
    data["body"] = ("lorem ipsum dolor sit amet " * 10)[: max(0, PAYLOAD_BYTES - size)]
    return data


Appender = Callable[[str, int, list], None]


def _writer(make_appender, tag: str, w: int, count: int, batch: int, start, out) -> None:
    append = make_appender()
    payloads = [payload(w * count + j) for j in range(count)]
    start.wait()
    t0 = time.monotonic()
    j = 0
    while j < count:
        size = min(batch, count - j, STREAM_LEN - j % STREAM_LEN)
        append(f"{tag}-w{w}-s{j // STREAM_LEN}", j % STREAM_LEN + 1, payloads[j : j + size])
        j += size
    out.put((t0, time.monotonic()))


def run(make_appender: Callable[[], Appender], *, n: int, writers: int, batch: int, tag: str,
        before_fork: Callable[[], None] = lambda: None) -> float:
    """Seconds to append `n` events with `writers` writer processes, `batch` events per append."""
    per = n // writers
    if writers == 1:
        append = make_appender()
        payloads = [payload(j) for j in range(per)]
        t0 = time.monotonic()
        j = 0
        while j < per:
            size = min(batch, per - j, STREAM_LEN - j % STREAM_LEN)
            append(f"{tag}-w0-s{j // STREAM_LEN}", j % STREAM_LEN + 1, payloads[j : j + size])
            j += size
        return time.monotonic() - t0
    before_fork()
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(make_appender, tag, w, per, batch, start, out)) for w in range(writers)]
    for p in procs:
        p.start()
    times = [out.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"writer exited with {p.exitcode}")
    return max(t1 for _, t1 in times) - min(t0 for t0, _ in times)


WORKLOADS = {"append_1_writer": (1, 1), "append_8_writers": (8, 1), "append_batch_100": (1, 100), "read_all": None}


def run_one(workload: str, make_appender, read_all: Callable[[], int], *, n: int, tag: str = "",
            before_fork=lambda: None) -> dict:
    """One figure in events/s (read_all: every event in the log, which grows with each round)."""
    if workload == "read_all":
        t0 = time.monotonic()
        count = read_all()
        return {"read_all": round(count / (time.monotonic() - t0), 1), "read_all_events": count}
    writers, batch = WORKLOADS[workload]
    seconds = run(make_appender, n=n, writers=writers, batch=batch, tag=f"{workload}{tag}", before_fork=before_fork)
    return {workload: round(n // writers * writers / seconds, 1)}
