"""The API document tells the whole truth (issue 19): schemathesis, a checker nobody here wrote, runs against a
real server with every check on — undocumented statuses, schema-valid requests refused, schema-violating ones
accepted, wrong methods, response bodies, headers — through all its phases (examples, coverage, fuzzing and the
stateful links: post a comment, vote on it, edit it, delete it), once as a guest and once as staff. And a
plain test that everything the API serves is in the document, each operation with its error body.

Run alone: `.venv/bin/pytest tests/conformance/test_openapi.py` (README: "Checkers")."""
from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN

from .conftest import staff_cookie

CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 19
# Examples per operation and phase: enough for every operation, every documented status and the stateful
# chains, small enough for CI (about a minute a run on two busy cores).
EXAMPLES = int(os.environ.get("CONFORMANCE_EXAMPLES", "25"))


def document(server) -> dict:
    with urllib.request.urlopen(server.url + "/api/openapi.json", timeout=10) as response:
        return json.loads(response.read())


def schemathesis(server, *extra: str, timeout: int = 420) -> subprocess.CompletedProcess:
    command = [str(VENV_BIN / "st"), "--config-file", str(CONFIG), "run", f"{server.url}/api/openapi.json",
               "--checks", "all", "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--workers", "1",
               "--generation-database", "none", "--no-color", "--output-truncate", "false",
               "--header", f"Origin: {server.url}", *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=server.tmp)


def report(run: subprocess.CompletedProcess) -> str:
    out = run.stdout + run.stderr
    start = out.find("=== FAILURES") if "=== FAILURES" in out else out.find("=== ERRORS")
    return out[start:] if start >= 0 else out[-6000:]


def test_everything_served_is_documented_with_its_errors(api_site):
    """Generic, so that what others add later is held to it too: every API route is in the document; every
    operation states a success, its 4xx statuses with the error body and the codes they carry; path parameters
    and request strings say what they accept."""
    import threadlog.urls  # noqa: F401 -- the URL conf adds every router (moderation, sessions, subscriptions)
    from threadlog.api.views import api

    patterns, _, _ = api.urls
    served = {"/api/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern)) for p in patterns
              if p.name not in ("openapi-json", "openapi-view", "api-root")}  # the document, its viewer, ninja's root
    doc = document(api_site)
    assert served <= set(doc["paths"]), served - set(doc["paths"])
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            statuses = set(op["responses"])
            assert any(s.startswith("2") for s in statuses), where
            assert {"400", "404"} <= statuses, where
            for status, response in op["responses"].items():
                if status.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    codes = schema["properties"]["error"]["properties"]["code"]["enum"]
                    assert codes and all(re.fullmatch(r"[a-z_]+", c) for c in codes), where
                    assert set(codes) <= set(response["description"].replace(",", " ").split()), where
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert {"pattern", "enum", "format"} & param["schema"].keys(), (where, param["name"])
            if method in ("post", "put", "patch"):
                assert {"413", "415", "422"} <= statuses, where


def test_wrong_methods_answer_405_with_allow_and_the_error_body(api_site):
    for method, path in [("PUT", "/api/threads/demo"), ("POST", "/api/threads/demo"), ("TRACE", "/api/events"),
                         ("PUT", "/api/comments/00000000-0000-0000-0000-000000000000")]:
        request = urllib.request.Request(api_site.url + path, method=method, data=b"{}" if method != "TRACE" else None,
                                         headers={"Origin": "http://elsewhere.example"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 405, (method, path)
        assert caught.value.headers["Allow"], (method, path)
        assert json.loads(caught.value.read())["error"]["code"] == "method_not_allowed"


def linked_comments(server) -> int:
    """Comments posted and then voted on, edited or deleted: the stateful links followed from POST's answer.
    (A guest's run rarely edits: schemathesis keeps no cookies between steps, so the editor is another guest.)"""
    seen: dict[str, set[str]] = {}
    after = 0
    while True:
        with urllib.request.urlopen(f"{server.url}/api/events?after={after}&limit=1000", timeout=30) as response:
            page = json.loads(response.read())
        for event in page["events"]:
            comment = event["data"].get("comment_id")
            if comment:
                seen.setdefault(comment, set()).add(event["type"])
        if not page["events"]:
            return sum("CommentPosted" in t and bool(t & {"VoteCast", "CommentEdited", "CommentDeleted"})
                       for t in seen.values())
        after = page["next"]


@pytest.mark.slow
def test_schemathesis_finds_nothing_as_a_guest(api_site):
    run = schemathesis(api_site)
    assert run.returncode == 0, report(run)
    assert re.search(r"Selected: (\d+)/\1", run.stdout), run.stdout[-3000:]  # every operation tested
    assert linked_comments(api_site) > 0  # post → vote / edit / delete, through the document's links


@pytest.mark.slow
def test_schemathesis_finds_nothing_as_staff(api_site):
    """Signed in as staff (a session cookie): the moderation operations get past their 403. Signing out would end
    the session halfway, so DELETE /api/session is left to the guest's run."""
    run = schemathesis(api_site, "--header", f"Cookie: {staff_cookie(api_site)}",
                       "--exclude-operation-id", "threadlog_staff_session_sign_out")
    assert run.returncode == 0, report(run)
