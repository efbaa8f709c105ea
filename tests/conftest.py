"""Shared fixtures: real databases (SQLite and PostgreSQL), committed data, and real daphne servers.

Tests do not rely on an empty database: they use their own thread keys and compare positions before and
after, because the log is append-only even in tests (its triggers forbid the flush between tests).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from benchmarks import _servers
from benchmarks._servers import free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("THREADLOG_REQUIRE_SERVICES") == "1"


def unique_key(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def key() -> str:
    return unique_key()


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    """Create the test databases of every alias (SQLite and PostgreSQL) once per run, with migrations."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, keepdb=False, aliases=set(connections))
    yield
    with django_db_blocker.unblock():
        for conn in connections.all():
            conn.close()
        teardown_databases(config, verbosity=0)


@pytest.fixture
def live_db(django_db_setup, django_db_blocker):
    """Database access with real commits on every alias (no wrapping transaction, no flush)."""
    from django.db import connections

    with django_db_blocker.unblock():
        yield
        for conn in connections.all():
            conn.close()


@pytest.fixture(params=["default", "postgres"], ids=["sqlite", "postgres"])
def store(request, live_db):
    from events.store import EventStore

    return EventStore(request.param)


@pytest.fixture
def pg_store(live_db):
    from events.store import EventStore

    return EventStore("postgres")


# --- real servers ---------------------------------------------------------------------------------------

def redis_available() -> bool:
    return _servers.redis_available(REDIS_URL)


def need_redis() -> None:
    if not redis_available():
        if REQUIRE_SERVICES:
            pytest.fail("Redis is required here (THREADLOG_REQUIRE_SERVICES=1) but is not reachable")
        pytest.skip("Redis is not running")


class PostgresDatabase(_servers.PostgresDatabase):
    """A throw-away PostgreSQL database for servers started by a test."""

    def __init__(self) -> None:
        super().__init__(POSTGRES_ADMIN_URL, prefix="threadlog_srv_")


@pytest.fixture
def postgres_database():
    db = PostgresDatabase()
    yield db
    db.drop()


class Server:
    """A real daphne process serving threadlog, on its own port and (by default) its own SQLite file."""

    def __init__(self, tmp: Path, *, database_url: str | None = None, redis_url: str | None = None,
                 env: dict[str, str] | None = None, migrate: bool = True, demo: bool = False, workers: int = 1):
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url or f"sqlite:///{tmp / 'server.sqlite3'}",
            "RATE_LIMITS": "off",
            "PUBLISHER_POLL_SECONDS": "0.2",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        else:
            self.env.pop("REDIS_URL", None)
        self.proc: subprocess.Popen | None = None
        self.log = tmp / f"daphne-{self.port}.log"
        if migrate:
            self.cli("migrate", "--verbosity", "0")
        if demo:
            self.cli("demo")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "threadlog"), *args], env=self.env, cwd=ROOT, check=check,
                              capture_output=True, text=True, timeout=600)

    def start(self) -> "Server":
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "threadlog"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, cwd=ROOT, stdout=self._logf, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daphne exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture
def make_server(tmp_path):
    servers: list[Server] = []

    def make(**kwargs) -> Server:
        server = Server(tmp_path, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server) -> Server:
    """A running daphne with the demo thread, on SQLite and the in-memory channel layer (as `make run`)."""
    return make_server(demo=True).start()


def pytest_collection_modifyitems(config, items):
    """Browser tests last: they are the slowest, and the rest should report first."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def pytest_sessionfinish(session, exitstatus):
    var = ROOT / "var"
    for f in var.glob(f"test-{os.getpid()}.sqlite3*"):
        f.unlink(missing_ok=True)
    shutil.rmtree(ROOT / ".pytest_cache" / "threadlog-tmp", ignore_errors=True)
