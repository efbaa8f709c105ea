"""How long the event loop was kept from running: the measure behind "the loop never blocks for long".

Every WebSocket reader and every request's I/O of a server process is served by its one event loop thread; any
call that runs long on it (or any thread that keeps the interpreter lock from it) delays all of them. The
watcher sleeps `interval` over and over and records how much later than asked it woke up. With LOOP_WATCH_FILE
set, `threadlog.asgi` starts it on the serving loop and it rewrites that file with its figures once a second
(benchmarks/post.py reads it).
"""
from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100)


async def watch(path: str, interval: float = 0.002) -> None:
    loop = asyncio.get_running_loop()
    worst = 0.0
    samples = 0
    over = dict.fromkeys(BUCKETS_MS, 0)
    target = Path(path)
    written = loop.time()
    while True:
        before = loop.time()
        await asyncio.sleep(interval)
        now = loop.time()
        late_ms = max(0.0, (now - before - interval) * 1000)
        samples += 1
        worst = max(worst, late_ms)
        for ms in BUCKETS_MS:
            if late_ms > ms:
                over[ms] += 1
        if now - written >= 1.0:
            written = now
            tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "samples": samples, "interval_ms": interval * 1000,
                                       "worst_ms": round(worst, 2),
                                       "late_over_ms": {str(ms): n for ms, n in over.items()}}))
            tmp.replace(target)
