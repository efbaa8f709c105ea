"""`threadlog events tail --after P` prints the log as JSON lines; `threadlog --help` lists the commands."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THREADLOG = Path(sys.executable).parent / "threadlog"  # .venv/bin/threadlog, the installed console script
FIELDS = {"position", "id", "type", "version", "stream", "stream_version", "data", "metadata", "recorded_at"}


def threadlog(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(THREADLOG), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"threadlog {' '.join(args)} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory) -> dict[str, str]:
    """A fresh SQLite file, migrated, with the demo thread loaded — through the console script only."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('cli') / 'cli.sqlite3'}"}
    for name in ("DJANGO_SETTINGS_MODULE", "REDIS_URL"):
        env.pop(name, None)
    threadlog(env, "migrate", "--verbosity", "0")
    threadlog(env, "demo")
    return env


def tail(env: dict[str, str], after: int) -> list[dict]:
    out = threadlog(env, "events", "tail", "--after", str(after)).stdout
    lines = out.splitlines()
    assert all(line.strip() for line in lines), "blank line in the output"
    return [json.loads(line) for line in lines]


def test_tail_prints_every_event_as_one_json_line(demo_env):
    events = tail(demo_env, 0)
    assert len(events) >= 3, "the demo thread should have several events"
    assert [e["position"] for e in events] == list(range(1, len(events) + 1))
    for e in events:
        assert FIELDS <= e.keys()
        assert isinstance(e["data"], dict) and isinstance(e["metadata"], dict)
    assert events[0]["type"] == "ThreadOpened" and events[0]["stream"] == "demo"
    assert {e["type"] for e in events} <= {"ThreadOpened", "CommentPosted", "CommentEdited", "CommentDeleted",
                                           "VoteCast"}
    by_stream: dict[str, list[int]] = {}
    for e in events:
        by_stream.setdefault(e["stream"], []).append(e["stream_version"])
    assert all(v == list(range(1, len(v) + 1)) for v in by_stream.values())


def test_tail_after_a_position_prints_only_later_events_in_order(demo_env):
    everything = tail(demo_env, 0)
    middle = everything[len(everything) // 2]["position"]
    later = tail(demo_env, middle)
    assert later, "nothing printed after the middle position"
    positions = [e["position"] for e in later]
    assert all(p > middle for p in positions)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert later == [e for e in everything if e["position"] > middle]
    assert tail(demo_env, everything[-1]["position"]) == []


def test_help_lists_the_commands(demo_env):
    out = threadlog(demo_env, "--help").stdout
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and line.split()}
    assert {"serve", "migrate", "demo", "events", "projections"} <= listed, out
    events_help = threadlog(demo_env, "events", "--help").stdout
    assert "tail" in events_help
    tail_help = threadlog(demo_env, "events", "tail", "--help").stdout
    assert "--after" in tail_help


def test_help_lists_every_setting_the_code_reads_and_every_one_readme_documents(demo_env):
    import re

    out = threadlog(demo_env, "--help").stdout
    read = set()
    for folder in ("platform/threadlog", "projections", "events"):
        for path in (ROOT / folder).rglob("*.py"):
            read |= set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', path.read_text(encoding="utf-8")))
            read |= set(re.findall(r'_rate\("([A-Z_]+)"', path.read_text(encoding="utf-8")))
    internal = {"PYTHONPATH", "THREADLOG_SERVER"}  # set by threadlog itself for its own processes
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration"):]
    table = table[:table.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)?", table, re.M))
    documented = {name for pair in documented for name in pair if name}
    assert "EMAIL_URL" in read and "MODERATION" in documented
    missing = sorted(name for name in (read - internal) | documented if not re.search(rf"\b{name}\b", out))
    assert not missing, f"threadlog --help does not list {missing}"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(THREADLOG), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [("audit", "log", "--limit", "abc"), ("no-such-command",),
                                  ("serve", "--port", "abc"), ("import-comments", "--format", "zzz", "x.xml")])
def test_a_usage_error_exits_1_with_a_message(demo_env, args):
    done = _run(demo_env, *args)
    assert done.returncode == 1 and "error:" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_demo_and_export_refuse_bad_input_with_a_message(demo_env, tmp_path):
    bad_key = _run(demo_env, "demo", "--key", "bad key")
    assert bad_key.returncode == 1 and "not a thread key" in bad_key.stderr and "Traceback" not in bad_key.stderr
    second = _run(demo_env, "demo", "--key", "demo-two")  # minutes after the first: not refused as duplicates
    assert second.returncode == 0 and "loaded" in second.stdout, second.stderr
    unwritable = _run(demo_env, "export", "--keys", str(tmp_path / "no" / "such" / "dir" / "keys.json"))
    assert unwritable.returncode == 1 and "cannot write the keys" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr
