"""How long the event loop was kept from running: the measure behind "the loop never blocks for long".

Every WebSocket reader and every request's I/O of a server process is served by its one event loop thread; any
call that runs long on it (or any thread that keeps the interpreter lock from it) delays all of them. The
watcher sleeps `interval` over and over and records how much later than asked it woke up. With LOOP_WATCH_FILE
set, `threadlog.asgi` starts it on the serving loop and it rewrites that file (`{pid}` in the name: the process
id, for several workers) once a second with its figures: the worst stall since start, counts of stalls over
1, 2, 5 … ms, and the worst of each of the last 120 seconds (wall-clock time, so that benchmarks/post.py can
pick the seconds of one phase).
"""
from __future__ import annotations

import asyncio
import collections
import json
import os
import time
from pathlib import Path

BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100)


async def watch(path: str, interval: float = 0.002) -> None:
    loop = asyncio.get_running_loop()
    worst = second_worst = 0.0
    samples = 0
    over = dict.fromkeys(BUCKETS_MS, 0)
    seconds: collections.deque[tuple[int, float]] = collections.deque(maxlen=120)
    target = Path(path.replace("{pid}", str(os.getpid())))
    second = int(time.time())
    while True:
        before = loop.time()
        await asyncio.sleep(interval)
        late_ms = max(0.0, (loop.time() - before - interval) * 1000)
        samples += 1
        worst = max(worst, late_ms)
        second_worst = max(second_worst, late_ms)
        for ms in BUCKETS_MS:
            if late_ms > ms:
                over[ms] += 1
        now = int(time.time())
        if now != second:
            seconds.append((second, round(second_worst, 2)))
            second, second_worst = now, 0.0
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "samples": samples, "interval_ms": interval * 1000,
                                       "worst_ms": round(worst, 2),
                                       "late_over_ms": {str(ms): n for ms, n in over.items()},
                                       "worst_ms_by_second": list(seconds)}))
            tmp.replace(target)
