"""Moderation on a real server over PostgreSQL: createsuperuser --noinput, sign in, a held comment private to the
public, approved, a ban refusing a vote and a post, the duplicate rule; then `projections verify` equals live on that database."""
from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.request

from tests.conftest import unique_key


class Client:
    def __init__(self, url: str):
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, method=method,
                                         data=json.dumps(payload).encode() if payload is not None else None,
                                         headers={"Content-Type": "application/json", "Origin": self.url})
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


def test_moderation_on_postgresql(make_server, postgres_database):
    server = make_server(database_url=postgres_database.url, env={
        "MODERATION": "first", "DJANGO_SUPERUSER_USERNAME": "chief", "DJANGO_SUPERUSER_PASSWORD": "pw-chief",
        "DJANGO_SUPERUSER_EMAIL": "chief@example.org"})
    assert server.cli("createsuperuser", "--noinput").returncode == 0
    server.start()
    key = unique_key("pgmod")
    writer, reader, staff = Client(server.url), Client(server.url), Client(server.url)
    status, held = writer.call("POST", f"/api/threads/{key}/comments", {"body": "secret words", "author_name": "W"})
    assert status == 201 and held["comment"]["status"] == "pending"
    status, page = reader.call("GET", f"/api/threads/{key}/comments")
    assert page["comments"] == [] and page["comment_count"] == 0
    status, events = reader.call("GET", f"/api/events?thread={key}")
    assert "secret words" not in json.dumps(events)
    assert staff.call("POST", "/api/session", {"username": "chief", "password": "wrong"})[0] == 401
    assert staff.call("POST", "/api/session", {"username": "chief", "password": "pw-chief"})[0] == 200
    status, queue = staff.call("GET", f"/api/moderation/queue?tab=pending&thread={key}")
    assert [i["held_reason"] for i in queue["items"]] == ["first"]
    cid = held["comment"]["id"]
    assert staff.call("POST", f"/api/comments/{cid}/moderation", {"action": "approve"})[0] == 200
    status, page = reader.call("GET", f"/api/threads/{key}/comments")
    assert [c["id"] for c in page["comments"]] == [cid]
    assert writer.call("POST", f"/api/threads/{key}/comments", {"body": "now free", "author_name": "W"})[1][
        "comment"]["status"] == "published"
    status, ban = staff.call("POST", "/api/bans", {"comment_id": cid, "scope": "person", "reason": "test"})
    assert status == 201
    status, error = writer.call("POST", f"/api/comments/{cid}/vote", {"value": 1})
    assert status == 403 and error["error"]["code"] == "banned" and error["error"]["until"] is None
    status, error = writer.call("POST", f"/api/threads/{key}/comments", {"body": "banned words", "author_name": "W"})
    assert status == 403 and error["error"]["code"] == "banned"
    assert staff.call("DELETE", f"/api/bans/{ban['ban']['id']}")[0] == 200
    assert writer.call("POST", f"/api/comments/{cid}/vote", {"value": 1})[0] == 200
    status, error = writer.call("POST", f"/api/threads/{key}/comments", {"body": "now free", "author_name": "W"})
    assert status == 409 and error["error"]["code"] == "duplicate_comment"  # the duplicate rule, on PostgreSQL
    server.stop()
    verify = server.cli("projections", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
