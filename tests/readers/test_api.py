"""Formats, preview, a comment's context, counts: through the HTTP API."""
from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import assert_error, head


def _post(api, key, body, **extra):
    response = api.post(f"/api/threads/{key}/comments", {"body": body, "author_name": "Ann", **extra})
    assert response.status_code == 201, response.content
    return response.json()["comment"]


def _events(api, key):
    return api.get("/api/events", thread=key).json()["events"]


def test_posts_are_markdown_unless_told_and_the_event_says_so(api, key):
    md = _post(api, key, "**bold** <b>x</b>")
    assert md["body_html"] == "<p><strong>bold</strong> &lt;b&gt;x&lt;/b&gt;</p>" and md["format"] == "markdown"
    plain = _post(api, key, "**bold**", format="plain")
    assert plain["body_html"] == "<p>**bold**</p>" and plain["format"] == "plain"
    posted = [e for e in _events(api, key) if e["type"] == "CommentPosted"]
    assert [(e["version"], e["data"]["format"]) for e in posted] == [(4, "markdown"), (4, "plain")]  # v4 (anchors)
    assert_error(api.post(f"/api/threads/{key}/comments", {"body": "x", "author_name": "A", "format": "html"}),
                 422, "invalid_request")


def test_preview_renders_what_a_post_shows(api, key):
    body = "> quoted\n\n*it* [a](https://example.org) [b](javascript:alert(1)) <script>x</script>"
    preview = api.post("/api/preview", {"body": body})
    assert preview.status_code == 200
    assert preview.json()["body_html"] == _post(api, key, body)["body_html"]
    assert "<blockquote>" in preview.json()["body_html"] and "<script" not in preview.json()["body_html"]
    plain = api.post("/api/preview", {"body": "*x*", "format": "plain"}).json()
    assert plain["body_html"] == "<p>*x*</p>"
    assert api.post("/api/preview", {"body": ""}).json()["body_html"] == ""
    before = head()
    assert_error(api.post("/api/preview", {"body": 5}), 422, "invalid_request")
    assert_error(api.post("/api/preview", {"body": "x", "format": "rtf"}), 422, "invalid_request")
    assert_error(api.post("/api/preview", {"body": "x" * 10_001}), 422, "invalid_request")
    assert_error(api.post("/api/preview", "{"), 400, "malformed_json")
    assert_error(api.post("/api/preview", {"body": "x"}, HTTP_ORIGIN="https://evil.example"), 403)
    assert head() == before  # a preview appends nothing


def test_edit_keeps_or_changes_the_format(api, key):
    c = _post(api, key, "*one*")
    edited = api.patch(f"/api/comments/{c['id']}", {"body": "*two*"}).json()["comment"]
    assert edited["body_html"] == "<p><em>two</em></p>" and edited["format"] == "markdown"
    edited = api.patch(f"/api/comments/{c['id']}", {"body": "*two*", "format": "plain"}).json()["comment"]
    assert edited["body_html"] == "<p>*two*</p>" and edited["format"] == "plain"
    before = head()
    api.patch(f"/api/comments/{c['id']}", {"body": "*two*", "format": "plain"})
    assert head() == before  # nothing changed: nothing appended
    edits = [e for e in _events(api, key) if e["type"] == "CommentEdited"]
    assert [(e["version"], e["data"]["format"]) for e in edits] == [(2, "markdown"), (2, "plain")]


def test_old_events_read_as_plain_text(api, key):
    from events.store import EventStore
    from events.types import CommentEdited, CommentPosted, ThreadOpened
    from projections.base import project_pending

    store = EventStore()
    cid = str(uuid.uuid4())
    with store.write_transaction():
        store.append(key, [ThreadOpened(key=key), CommentPosted(comment_id=cid, body="*v2*", author_id="guest:old",
                                                                author_name="Old")])
        project_pending(store)
    page = api.comments(key)
    assert page["comments"][0]["body_html"] == "<p>*v2*</p>" and page["comments"][0]["format"] == "plain"
    with store.write_transaction():
        store.append(key, [CommentEdited(comment_id=cid, body="_v1 edit_", editor_id="guest:old")])
        project_pending(store)
    assert api.comments(key)["comments"][0]["body_html"] == "<p>_v1 edit_</p>"
    versions = {e["type"]: e["version"] for e in _events(api, key)}  # stored as written, read upcast
    assert versions["CommentPosted"] == 4 and versions["CommentEdited"] == 2


def _thread(api, key, tops, sort="oldest"):
    """`tops` top-level comments, the 45th with a chain of replies five deep."""
    ids = [_post(api, key, f"top {i}")["id"] for i in range(tops)]
    parent, chain = ids[44], []
    for depth in range(5):
        parent = _post(api, key, f"reply {depth}", parent_id=parent)["id"]
        chain.append(parent)
    return ids, chain


def test_context_gives_ancestors_and_the_page_that_holds_the_comment(api, key):
    ids, chain = _thread(api, key, 50)
    ctx = api.get(f"/api/comments/{chain[-1]}/context").json()
    assert ctx["comment"]["id"] == chain[-1] and ctx["thread"] == key and ctx["sort"] == "oldest"
    assert [a["id"] for a in ctx["ancestors"]] == [ids[44]] + chain[:-1]
    page = api.comments(key, limit=20, cursor=ctx["cursor"] or "")
    assert page["comments"][0]["id"] == ids[44]
    # newest first: the page starts at the same top-level comment
    ctx = api.get(f"/api/comments/{chain[2]}/context", sort="newest").json()
    assert api.comments(key, sort="newest", limit=20, cursor=ctx["cursor"] or "")["comments"][0]["id"] == ids[44]
    # a score sort, with votes
    api.vote(ids[44], 1)
    api.vote(ids[3], -1)
    for sort in ("most_voted", "best", "hot"):
        ctx = api.get(f"/api/comments/{chain[0]}/context", sort=sort).json()
        first = api.comments(key, sort=sort, limit=5, cursor=ctx["cursor"] or "")["comments"][0]
        assert first["id"] == ids[44], sort
    # the first comment in a sort: no cursor (the first page)
    assert api.get(f"/api/comments/{ids[0]}/context").json()["cursor"] is None
    assert_error(api.get(f"/api/comments/{uuid.uuid4()}/context"), 404, "comment_not_found")
    assert_error(api.get("/api/comments/nope/context"), 404, "comment_not_found")
    assert_error(api.get(f"/api/comments/{ids[0]}/context", sort="worst"), 400, "invalid_sort")


def test_counts_for_many_threads(api, key):
    other = key + "-b"
    for _ in range(3):
        _post(api, key, "x")
    c = _post(api, other, "y")
    api.delete(f"/api/comments/{c['id']}")
    response = api.get("/api/counts", keys=f"{key},{other},never-{key}")
    assert response.status_code == 200
    assert response.json() == {"counts": {key: 3, other: 0, f"never-{key}": 0}}
    etag = response["ETag"]
    again = api.client.get("/api/counts", {"keys": f"{key},{other}"}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag
    _post(api, key, "z")
    fresh = api.client.get("/api/counts", {"keys": key}, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and fresh.json()["counts"][key] == 4 and fresh["ETag"] != etag
    assert_error(api.get("/api/counts"), 400, "invalid_parameter")
    assert_error(api.get("/api/counts", keys=",".join(f"k{i}" for i in range(101))), 400, "invalid_parameter")
    assert len(api.get("/api/counts", keys=",".join(f"k{i}" for i in range(100))).json()["counts"]) == 100
    assert_error(api.get("/api/counts", keys="ok,bad key"), 400, "invalid_key")


@pytest.mark.parametrize("path", ["/api/preview"])
def test_preview_is_post_only(api, path):
    assert_error(api.get(path), 405, "method_not_allowed")
