"""`threadlog import-comments` as an operator runs it: summary, --json, --dry-run, errors, and the audit tools.

Each run is the installed console script in its own process, on a SQLite file of this module's own.
"""
from __future__ import annotations

import json

import pytest

from tests.imports.conftest import fixture_bytes, run

PERSONAL = ["Zoë", "Jürgen", "Ольга", "zoe@example.net", "juergen@example.net", "203.0.113.7", "Stimmt nicht",
            "美玲", "mei@example.org", "Harold", "email2@mail.com"]


def head(env) -> int:
    return json.loads(run(env, "audit", "head").stdout)["position"]


def write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_help_lists_the_command(cli_env):
    top = run(cli_env, "--help").stdout
    assert "import-comments" in top
    own = run(cli_env, "import-comments", "--help").stdout
    for option in ("--format", "--site-url", "--dry-run", "--json"):
        assert option in own


def test_summary_as_text_and_json_then_nothing_on_reimport(cli_env, tmp_path, prefix):
    path = write(tmp_path, "wp.xml", fixture_bytes("wordpress.xml", prefix))
    text = run(cli_env, "import-comments", path).stdout
    assert "imported (wordpress): 2 new threads" in text and "skipped 1: spam" in text
    before = head(cli_env)
    again = json.loads(run(cli_env, "import-comments", path, "--json").stdout)
    assert again["comments"] == 0 and again["already_imported"] == 5 and again["events"] == 0
    assert head(cli_env) == before
    assert "live read model equals a rebuild" in run(cli_env, "projections", "verify").stdout
    assert "chain intact" in run(cli_env, "audit", "verify").stdout


def test_dry_run_reports_and_appends_nothing(cli_env, tmp_path, prefix):
    path = write(tmp_path, "d.xml", fixture_bytes("disqus.xml", prefix))
    before = head(cli_env)
    summary = json.loads(run(cli_env, "import-comments", path, "--dry-run", "--json", "--format", "disqus").stdout)
    assert summary["dry_run"] and summary["comments"] == 5 and summary["threads"] == 2
    assert head(cli_env) == before


@pytest.mark.parametrize("name,cut", [("wordpress.xml", 0.6), ("disqus.xml", 0.5), ("isso.json", 0.7)])
def test_a_truncated_file_appends_nothing(cli_env, tmp_path, prefix, name, cut):
    data = fixture_bytes(name, prefix)
    path = write(tmp_path, name, data[: int(len(data) * cut)])
    before = head(cli_env)
    done = run(cli_env, "import-comments", path, check=False)
    assert done.returncode == 1 and done.stdout == ""
    assert "line" in done.stderr and "nothing was imported" in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(p in done.stderr for p in PERSONAL), done.stderr
    assert head(cli_env) == before


def test_a_missing_required_field_names_the_item(cli_env, tmp_path, prefix):
    data = fixture_bytes("wordpress.xml", prefix).replace(b"<wp:comment_id>20</wp:comment_id>", b"")
    before = head(cli_env)
    done = run(cli_env, "import-comments", write(tmp_path, "wp.xml", data), check=False)
    assert done.returncode == 1
    assert "item 3 (post id 7), comment 1: wp:comment_id is missing" in done.stderr
    assert head(cli_env) == before  # the first item's thread was appended, then rolled back
    isso = json.loads(fixture_bytes("isso.json", prefix))
    del isso[0]["comments"][1]["created"]
    done = run(cli_env, "import-comments", write(tmp_path, "i.json", json.dumps(isso).encode()), check=False)
    assert done.returncode == 1 and "thread 1, comment 2 (id 1): created is missing" in done.stderr
    assert not any(p in done.stderr for p in PERSONAL)


def test_unknown_format_and_unreadable_file(cli_env, tmp_path):
    done = run(cli_env, "import-comments", write(tmp_path, "x.csv", b"id,name\n1,Ann\n"), check=False)
    assert done.returncode == 1 and "unknown format" in done.stderr and "Ann" not in done.stderr
    done = run(cli_env, "import-comments", str(tmp_path / "nope.xml"), check=False)
    assert done.returncode == 1 and "cannot read" in done.stderr and "Traceback" not in done.stderr
    done = run(cli_env, "import-comments", write(tmp_path, "w.xml", b"<?xml version='1.0'?><feed></feed>"),
               "--format", "wordpress", check=False)
    assert done.returncode == 1 and "root element is <feed>" in done.stderr


def test_audit_by_occurred_time(cli_env, tmp_path, prefix):
    run(cli_env, "import-comments", write(tmp_path, "wp.xml", fixture_bytes("wordpress.xml", prefix)))
    key = f"q.~{prefix}~.3Fp.3D4"
    lines = run(cli_env, "audit", "log", "--thread", key, "--until", "2019-05-06T09:30:00Z", "--json").stdout
    events = [json.loads(line) for line in lines.splitlines()]
    assert [e["type"] for e in events] == ["ThreadOpened", "CommentPosted"]
    assert all(e["occurred_at"] <= "2019-05-06T09:30:00.000000Z" for e in events)
    tree = run(cli_env, "audit", "thread", key, "--at", "2019-05-06T10:45:00Z").stdout
    assert "Jürgen Weiß" in tree and "Zoë Ångström" in tree and "Ольга" not in tree
    bad = run(cli_env, "audit", "log", "--until", "soon", check=False)
    assert bad.returncode == 1 and "neither a position nor an ISO-8601 time" in bad.stderr
