"""The WebSocket protocol is described (AsyncAPI 3 at /api/asyncapi.json) and real frames match it: a reader
connects, pings, sends nonsense, resumes, and watches a comment posted, replied to, voted on, edited, deleted
and its thread closed; every frame either way is validated against the document's schema for its type.

Run alone: `.venv/bin/pytest tests/conformance/test_asyncapi.py` (README: "Checkers")."""
from __future__ import annotations

import json
import time
import urllib.request

import jsonschema_rs
from websockets.sync.client import connect

from tests.conftest import unique_key

from .conftest import staff_cookie


def asyncapi(server) -> dict:
    with urllib.request.urlopen(server.url + "/api/asyncapi.json", timeout=10) as response:
        return json.loads(response.read())


def validators(doc: dict, prefix: str) -> dict[str, jsonschema_rs.Validator]:
    messages = doc["channels"]["thread"]["messages"]
    out = {}
    for name, message in messages.items():
        if name.startswith(prefix):
            out[message["payload"]["properties"]["type"]["const"]] = jsonschema_rs.validator_for(message["payload"])
    return out


def writer(server):
    """Writes over HTTP as staff (who may edit and delete any comment and close threads)."""
    cookie = staff_cookie(server)

    def write(method: str, path: str, payload: dict) -> dict:
        request = urllib.request.Request(server.url + path, method=method, data=json.dumps(payload).encode(),
                                         headers={"Content-Type": "application/json", "Origin": server.url,
                                                  "Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    return write


def check(frames: dict[str, jsonschema_rs.Validator], frame: dict) -> None:
    assert frame.get("type") in frames, f"a frame the document does not describe: {frame}"
    errors = [e.message for e in frames[frame["type"]].iter_errors(frame)]
    assert not errors, (frame, errors)


def test_the_document_is_asyncapi_3_and_its_references_resolve(api_site):
    doc = asyncapi(api_site)
    assert doc["asyncapi"].startswith("3.")
    channel = doc["channels"]["thread"]
    assert channel["address"] == "/ws/threads/{key}/"
    for op in doc["operations"].values():
        assert op["action"] in ("send", "receive")
        for ref in op["messages"]:
            name = ref["$ref"].rsplit("/", 1)[-1]
            assert name in channel["messages"], ref
    assert set(validators(doc, "server.")) >= {"event", "ready", "reset", "presence", "pong", "error", "notice"}
    assert set(validators(doc, "client.")) == {"resume", "ping"}


def test_real_frames_match_the_document(api_site):
    doc = asyncapi(api_site)
    server_frames, client_frames = validators(doc, "server."), validators(doc, "client.")
    key = unique_key("frames")
    write = writer(api_site)
    first = write("POST", f"/api/threads/{key}/comments", {"body": "First.", "author_name": "Ada"})
    seen: list[dict] = []
    with connect(f"{api_site.ws_url}/ws/threads/{key}/?after=0", origin=api_site.url, open_timeout=10) as ws:
        def send(frame: dict | str) -> None:
            if isinstance(frame, dict):
                check(client_frames, frame)
                frame = json.dumps(frame)
            ws.send(frame)

        def until(predicate, timeout: float = 10.0) -> dict:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                check(server_frames, frame)
                seen.append(frame)
                if predicate(frame):
                    return frame
            raise AssertionError(f"no such frame; saw {seen[-5:]}")

        until(lambda f: f["type"] == "ready")
        send({"type": "ping"})
        until(lambda f: f["type"] == "pong")
        send("not json")
        until(lambda f: f["type"] == "error")
        send(json.dumps({"type": "shout"}))  # not in the document (on purpose): an error frame
        until(lambda f: f["type"] == "error" and f["code"] == "unknown_type")
        send({"type": "resume", "after": 0})
        until(lambda f: f["type"] == "ready")
        cid = first["comment"]["id"]
        reply = write("POST", f"/api/threads/{key}/comments", {"body": "A reply.", "author_name": "Bo",
                                                               "parent_id": cid})
        until(lambda f: f["type"] == "event" and f["event"]["type"] == "CommentPosted"
              and f["comment"]["id"] == reply["comment"]["id"])
        write("POST", f"/api/comments/{cid}/vote", {"value": 1})
        until(lambda f: f["type"] == "event" and f["event"]["type"] == "VoteCast")
        write("PATCH", f"/api/comments/{reply['comment']['id']}", {"body": "A reply, edited."})
        until(lambda f: f["type"] == "event" and f["event"]["type"] == "CommentEdited")
        write("DELETE", f"/api/comments/{reply['comment']['id']}", {})
        until(lambda f: f["type"] == "event" and f["event"]["type"] == "CommentDeleted")
        write("POST", f"/api/threads/{key}/moderation", {"action": "close"})
        until(lambda f: f["type"] == "event" and f["event"]["type"] == "ThreadClosed" and f["thread"]["closed"])
        send({"type": "resume", "after": 10**12})  # ahead of the log: a reset
        until(lambda f: f["type"] == "reset")
    kinds = {f["type"] for f in seen}
    assert {"ready", "pong", "error", "event", "reset"} <= kinds, kinds
    with connect(f"{api_site.ws_url}/ws/threads/no%20such/", origin=api_site.url, open_timeout=10) as ws:
        check(server_frames, json.loads(ws.recv(timeout=10)))  # a bad key: an error frame, then closed
