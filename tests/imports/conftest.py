"""Fixtures of the import tests: the hand-written exports, each under a page path of its own (PREFIX).

The log is append-only even in tests, so every test imports its files under a fresh path prefix: its threads
(keyed by the pages' URLs) and comments (ids derived from those keys) are its own.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT

FIXTURES = Path(__file__).resolve().parent / "fixtures"
THREADLOG = Path(sys.executable).parent / "threadlog"


def fixture_bytes(name: str, prefix: str) -> bytes:
    return (FIXTURES / name).read_bytes().replace(b"PREFIX", prefix.encode())


@pytest.fixture
def prefix() -> str:
    return f"p{uuid.uuid4().hex[:10]}"


def import_fixture(name: str, prefix: str, **kwargs):
    from threadlog.imports.writer import import_file

    return import_file(io.BytesIO(fixture_bytes(name, prefix)), **kwargs)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory) -> dict[str, str]:
    """A fresh SQLite file, migrated, for the command-line tests (the console script in its own process)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('imports') / 'cli.sqlite3'}"}
    for name in ("DJANGO_SETTINGS_MODULE", "REDIS_URL"):
        env.pop(name, None)
    run(env, "migrate", "--verbosity", "0")
    return env


def run(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([str(THREADLOG), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, f"threadlog {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done
