"""`threadlog serve`: daphne, in one process or in several sharing one listening socket.

One daphne process runs Python on one core at a time. With --workers N the parent binds the socket once and
starts N daphne processes on it (`daphne --fd`); the kernel hands each new connection to one of them. Each
process has its own live publisher: with REDIS_URL set, a commit in one rings every process's doorbell and
presence is summed across them; without it, a process learns of another's events by its poll
(PUBLISHER_POLL_SECONDS). Writers of all processes queue on the store's append lock.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from threadlog.server_tuning import SERVER_ENV

APPLICATION = "threadlog.asgi:application"


def serve(host: str, port: int, workers: int = 1, *, access_log: bool = True) -> int:
    os.environ[SERVER_ENV] = "1"  # before Django's settings load, here and in the workers (threadlog.server_tuning)
    # daphne logs each request at verbosity 1 (its default), as plain text: with LOG_FORMAT=json the requests are
    # logged by threadlog.ops.middleware instead.
    quiet = [] if access_log and os.environ.get("LOG_FORMAT", "text") != "json" else ["--verbosity", "0"]
    from threadlog.notifications.runner import spawn_for_server

    notifier = spawn_for_server()  # e-mail notifications: a child process (NOTIFIER=off: none)
    try:
        if workers <= 1:
            from daphne.cli import CommandLineInterface

            CommandLineInterface().run(["-b", host, "-p", str(port), *quiet, APPLICATION])
            return 0
        from threadlog.ops.metrics import multiprocess_env, remove_multiprocess_dir

        metrics_dir = multiprocess_env(workers)  # the workers' Prometheus samples, summed by /metrics
        try:
            return serve_workers(host, port, workers, quiet)
        finally:
            remove_multiprocess_dir(metrics_dir)
    finally:
        if notifier is not None and notifier.poll() is None:
            notifier.terminate()
            notifier.wait(10)


def _listen(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    sock = socket.create_server((host, port), family=family, backlog=2048)
    sock.set_inheritable(True)
    return sock


def serve_workers(host: str, port: int, workers: int, daphne_args: list[str] | None = None) -> int:
    """Run `workers` daphne processes on one socket until a signal (or one of them dies: then stop them all)."""
    if not os.environ.get("REDIS_URL"):
        print(f"threadlog serve: {workers} workers without REDIS_URL: a reader sees other workers' events after "
              "PUBLISHER_POLL_SECONDS and counts only its worker's readers", file=sys.stderr)
    sock = _listen(host, port)
    fd = sock.fileno()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [*sys.path, os.environ.get("PYTHONPATH")]))}
    children = [
        subprocess.Popen([sys.executable, "-m", "daphne", "--fd", str(fd), *(daphne_args or []), APPLICATION],
                         pass_fds=(fd,), env=env)
        for _ in range(workers)
    ]
    sock.close()  # the children hold it
    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    print(f"threadlog serve: {workers} daphne workers on http://{host}:{port} "
          f"(pids {', '.join(str(c.pid) for c in children)})", file=sys.stderr, flush=True)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    if not stopping:  # a worker died: take the others down too, so a supervisor restarts the whole server
        stop(signal.SIGTERM, None)
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0 if stopping else 1
