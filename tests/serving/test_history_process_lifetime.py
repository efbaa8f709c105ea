"""A server process's history process ends with it, however the server ends (here: SIGKILL, nothing to clean up).

Left behind, each kept polling the database every second for good; beside test and benchmark servers they piled
up until PostgreSQL refused connections."""
from __future__ import annotations

import os
import sys
import time

import pytest

from benchmarks._servers import ThreadlogServer


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
def test_history_process_ends_when_its_server_is_killed(tmp_path):
    server = ThreadlogServer(tmp_path, env={"NOTIFIER": "off", "HISTORY_PROCESSES": "1"}).start()
    try:
        deadline = time.monotonic() + 60
        children: list[int] = []
        while time.monotonic() < deadline and not children:  # the history process (and multiprocessing's tracker)
            children = [int(c) for c in open(f"/proc/{server.pid}/task/{server.pid}/children").read().split()]
            time.sleep(0.2)
        assert children, "the server started no history process"
        server.proc.kill()
        server.proc.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(c) for c in children):
            time.sleep(0.2)
        left = [c for c in children if _alive(c)]
        for pid in left:
            os.kill(pid, 9)
        assert not left, f"processes left behind by the killed server: {left}"
    finally:
        server.stop()
