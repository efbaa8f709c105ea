"""Helpers shared by benchmarks/post.py and benchmarks/fanout.py: real servers on loopback ports.

- ThreadlogServer: `threadlog migrate` then `threadlog serve` (daphne, one process) with its own database
  (a SQLite file in a temporary folder by default, or a PostgreSQL URL), RATE_LIMITS=off.
- IssoServer: Isso from PyPI in benchmarks/.venv-isso (created on first use), SQLite, guard off, served by
  gunicorn (gthread, keep-alive) as Isso's docs deploy it.
- BareChannelsServer: benchmarks/bare_channels (a minimal Channels app) served by daphne.
- PostgresDatabase: a throw-away database on 127.0.0.1:5432 (user postgres, trust auth), dropped afterwards.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
VENV_BIN = Path(sys.executable).parent
ISSO_VENV = BENCH / ".venv-isso"
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile(want: int = 16384) -> int:
    """Raise the soft open-files limit (inherited by the servers and clients we start)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid: int) -> int:
    """Resident set size of one process in KiB (VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")


class _Process:
    proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def all_pids(self) -> list[int]:
        """The process and its children (gunicorn's workers, `threadlog serve --workers`' daphne processes)."""
        pids = [self.pid]
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        except OSError:
            pass
        return pids

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class ThreadlogServer(_Process):
    """`threadlog serve`: one daphne process as `make run` does, or `workers` of them sharing the port."""

    def __init__(self, tmp: Path, *, database_url: str | None = None, redis_url: str | None = None,
                 env: dict[str, str] | None = None, migrate: bool = True, workers: int = 1):
        self.workers = workers
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url or f"sqlite:///{tmp / 'threadlog.sqlite3'}",
            "RATE_LIMITS": "off",
            "PYTHONUNBUFFERED": "1",
            "THREADLOG_VAR": str(tmp),
            **(env or {}),
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        else:
            self.env.pop("REDIS_URL", None)
        self.log = tmp / f"threadlog-{self.port}.log"
        if migrate:
            self.cli("migrate", "--verbosity", "0")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "threadlog"), *args], env=self.env, cwd=ROOT, check=True,
                              capture_output=True, text=True, timeout=600)

    def start(self) -> "ThreadlogServer":
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "threadlog"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers), "--no-access-log"],  # as Isso's gunicorn: no line per request
            env=self.env, cwd=ROOT, stdout=logf, stderr=subprocess.STDOUT)
        wait_http(self.url + "/healthz", self.proc, self.log)
        return self


class BareChannelsServer(_Process):
    """daphne serving benchmarks/bare_channels: one AsyncJsonWebsocketConsumer group, in-memory layer."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.origin = self.url
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log = tmp / f"bare-{self.port}.log"

    def start(self) -> "BareChannelsServer":
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(BENCH),
               "DJANGO_SETTINGS_MODULE": "bare_channels.settings"}
        env.pop("REDIS_URL", None)
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), "bare_channels.asgi:application"],
            env=env, cwd=BENCH, stdout=logf, stderr=subprocess.STDOUT)
        wait_http(self.url + "/healthz", self.proc, self.log)
        return self


def ensure_isso_venv() -> Path:
    """Create benchmarks/.venv-isso with isso and gunicorn from PyPI on first use; returns its bin folder."""
    bin_dir = ISSO_VENV / "bin"
    marker = ISSO_VENV / ".installed"
    if not marker.exists():
        base = shutil.which("python3") or sys.executable
        if not (bin_dir / "python").exists():
            subprocess.run([base, "-m", "venv", str(ISSO_VENV)], check=True)
        subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "isso", "gunicorn"], check=True,
                       stdout=subprocess.DEVNULL)
        marker.write_text("isso gunicorn\n")
    return bin_dir


def isso_versions() -> dict[str, str]:
    out = subprocess.run(
        [str(ISSO_VENV / "bin" / "python"), "-c",
         "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in ('isso', 'gunicorn')}))"],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


ISSO_CONF = """\
[general]
dbpath = {db}
host = {origin}
notify = stdout
log-file = {tmp}/isso.log
gravatar = false
[moderation]
enabled = false
[server]
listen = http://127.0.0.1:{port}
trusted-proxies = 127.0.0.1
[guard]
enabled = false
ratelimit = 100000
direct-reply = 100000
reply-to-self = true
require-author = false
require-email = false
"""


class IssoServer(_Process):
    """Isso (SQLite, guard off) under gunicorn: `workers` processes of the gthread worker, `threads` each."""

    def __init__(self, tmp: Path, *, workers: int = 1, threads: int = 8):
        self.bin = ensure_isso_venv()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Isso's "host" is the site that embeds it: writes carry that site as Origin.
        self.origin = f"http://127.0.0.1:{free_port()}"
        self.tmp = tmp
        self.workers, self.threads = workers, threads
        self.conf = tmp / "isso.cfg"
        self.conf.write_text(ISSO_CONF.format(db=tmp / "isso.sqlite3", origin=self.origin, port=self.port, tmp=tmp))
        self.log = tmp / f"isso-{self.port}.log"

    def start(self) -> "IssoServer":
        env = {**os.environ, "ISSO_SETTINGS": str(self.conf), "PYTHONUNBUFFERED": "1"}
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(self.bin / "gunicorn"), "-b", f"127.0.0.1:{self.port}", "-w", str(self.workers),
             "-k", "gthread", "--threads", str(self.threads), "--keep-alive", "30", "--preload",
             "--log-level", "warning", "isso.run"],
            env=env, cwd=self.tmp, stdout=logf, stderr=subprocess.STDOUT)
        wait_http(self.url + "/info", self.proc, self.log)
        return self


class PostgresDatabase:
    """A throw-away PostgreSQL database (dropped by drop()); the tests' servers use it too (tests/conftest.py)."""

    def __init__(self, admin_url: str = POSTGRES_ADMIN_URL, prefix: str = "threadlog_bench_") -> None:
        import psycopg

        self.name = f"{prefix}{uuid.uuid4().hex[:10]}"
        self._admin = admin_url.replace("postgres://", "postgresql://")
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class RedisProcess:
    """A redis-server of our own on a loopback port (never the system's): it can be killed and started again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RedisProcess":
        server = shutil.which("redis-server")
        if server is None:
            raise RuntimeError("redis-server is not installed")
        self.proc = subprocess.Popen([server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class PipePool:
    """K worker processes (client processes of a benchmark), each answering (command, argument) over a pipe
    with (reply, value); a command goes to all of them and their values come back as a list."""

    def __init__(self, target, args_of, procs: int, start_method: str = "fork") -> None:
        import multiprocessing

        ctx = multiprocessing.get_context(start_method)
        self.pipes, self.procs = [], []
        for i in range(procs):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=target, args=(child, *args_of(i)), daemon=True)
            p.start()
            self.pipes.append(parent)
            self.procs.append(p)

    def ask(self, cmd: str, args: list | None = None, timeout: float = 600) -> list:
        """`args[i]` to process i (None to all without args)."""
        for i, pipe in enumerate(self.pipes):
            pipe.send((cmd, args[i] if args else None))
        out = []
        for pipe in self.pipes:
            if not pipe.poll(timeout):
                raise RuntimeError(f"a client process did not answer {cmd!r} in {timeout} s")
            out.append(pipe.recv()[1])
        return out

    def exit(self) -> None:
        """Each process answers "exit" and returns."""
        try:
            self.ask("exit", timeout=10)
        except Exception:  # noqa: BLE001
            pass
        for p in self.procs:
            p.join(5)
            if p.is_alive():
                p.kill()


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def redis_available(url: str = REDIS_URL) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]
