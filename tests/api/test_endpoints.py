"""Every endpoint of the public contract (DESIGN.md, v1), happy paths, through Django's test Client."""
from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import ORIGIN, assert_error, head

COMMENT_FIELDS = {"id", "parent_id", "author", "body_html", "created_at", "edited_at", "deleted", "up", "down",
                  "score", "reply_count", "replies", "status", "pinned"}


def test_get_thread(api, key):
    assert_error(api.get(f"/api/threads/{key}"), 404, "thread_not_found")
    response = api.post(f"/api/threads/{key}/comments", {"body": "first", "author_name": "Ann", "title": "T1"})
    assert response.status_code == 201
    position = response.json()["position"]
    api.comment(key, "second")
    thread = api.get(f"/api/threads/{key}").json()
    assert thread == {"key": key, "title": "T1", "comment_count": 2, "position": position + 1, "closed": False,
                      "premoderated": False, "pinned": []}
    assert thread["position"] == head()


def test_post_comment_opens_thread_and_returns_it(api, key):
    before = head()
    response = api.post(f"/api/threads/{key}/comments",
                        {"body": "Hello <b>world</b>\n\nsee https://example.org/x.", "author_name": "  Ann  ",
                         "author_email": "ann@example.org"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"comment", "position"}
    # ThreadOpened + CommentPosted in one append
    assert body["position"] == before + 2 == head()
    comment = body["comment"]
    assert set(comment) >= COMMENT_FIELDS
    uuid.UUID(comment["id"])
    assert comment["parent_id"] is None
    assert comment["author"] == {"name": "Ann"}
    assert "email" not in str(comment) and "ann@example.org" not in str(body)
    assert comment["body_html"] == (
        '<p>Hello &lt;b&gt;world&lt;/b&gt;</p><p>see <a href="https://example.org/x" '
        'rel="nofollow ugc noopener">https://example.org/x</a>.</p>')
    assert (comment["deleted"], comment["up"], comment["down"], comment["score"], comment["reply_count"]) == (
        False, 0, 0, 0, 0)
    assert comment["edited_at"] is None and comment["replies"] == []
    # the first write sets the guest's signed cookies
    assert {"tl_voter", "tl_author"} <= set(response.cookies)


def test_post_reply(api, key):
    top = api.comment(key, "top")
    before = head()
    response = api.post(f"/api/threads/{key}/comments", {"body": "re", "author_name": "Bob", "parent_id": top["id"]})
    assert response.status_code == 201
    reply = response.json()["comment"]
    assert reply["parent_id"] == top["id"]
    assert response.json()["position"] == before + 1 == head()  # no second ThreadOpened
    page = api.comments(key)
    assert page["comment_count"] == 2
    assert [c["id"] for c in page["comments"]] == [top["id"]]
    assert page["comments"][0]["reply_count"] == 1
    assert [r["id"] for r in page["comments"][0]["replies"]] == [reply["id"]]


def test_vote_up_down_retract_and_repeat(api, make_client, key):
    comment = api.comment(key, "vote on me")
    voter, other = make_client(), make_client()
    start = head()
    assert voter.vote(comment["id"], 1) == {"up": 1, "down": 0, "score": 1, "position": start + 1, "value": 1}
    # the same vote again appends nothing and changes nothing
    again = voter.vote(comment["id"], 1)
    assert (again["up"], again["down"], again["score"], again["position"]) == (1, 0, 1, start + 1)
    assert head() == start + 1
    # switching appends one event
    switched = voter.vote(comment["id"], -1)
    assert (switched["up"], switched["down"], switched["score"], switched["position"]) == (0, 1, -1, start + 2)
    assert other.vote(comment["id"], -1)["score"] == -2
    retracted = voter.vote(comment["id"], 0)
    assert (retracted["up"], retracted["down"], retracted["score"]) == (0, 1, -1)
    assert head() == start + 4
    assert voter.vote(comment["id"], 0)["position"] == start + 4  # retracting twice: nothing
    assert head() == start + 4
    shown = api.comments(key)["comments"][0]
    assert (shown["up"], shown["down"], shown["score"]) == (0, 1, -1)


def test_patch_edit(api, make_client, key):
    comment = api.comment(key, "typo")
    before = head()
    response = api.patch(f"/api/comments/{comment['id']}", {"body": "fixed https://example.org"})
    assert response.status_code == 200, response.content
    edited = response.json()["comment"]
    assert response.json()["position"] == before + 1 == head()
    assert edited["edited_at"] is not None
    assert 'href="https://example.org"' in edited["body_html"] and "typo" not in edited["body_html"]
    # the same body again changes nothing
    assert api.patch(f"/api/comments/{comment['id']}", {"body": "fixed https://example.org"}).status_code == 200
    assert head() == before + 1
    shown = api.comments(key)["comments"][0]
    assert shown["body_html"] == edited["body_html"] and shown["edited_at"] == edited["edited_at"]


def test_delete(api, key):
    keep = api.comment(key, "keep")
    gone = api.comment(key, "gone")
    before = head()
    response = api.delete(f"/api/comments/{gone['id']}")
    assert response.status_code == 200, response.content
    assert response.json()["comment"]["deleted"] is True
    assert response.json()["position"] == before + 1 == head()
    page = api.comments(key)
    assert page["comment_count"] == 1
    assert [c["id"] for c in page["comments"]] == [keep["id"]]  # a deleted leaf leaves no trace
    assert api.get(f"/api/threads/{key}").json()["comment_count"] == 1


@pytest.mark.parametrize("sort", ["oldest", "newest", "most_voted", "best", "hot"])
def test_get_comments_each_sort_shape(api, key, sort):
    ids = [api.comment(key, f"c{i}")["id"] for i in range(3)]
    page = api.comments(key, sort=sort)
    assert set(page) >= {"comments", "next_cursor", "comment_count", "position"}
    assert page["comment_count"] == 3 and page["position"] == head() and page["next_cursor"] is None
    assert sorted(c["id"] for c in page["comments"]) == sorted(ids)
    expected = ids if sort in ("oldest", "most_voted", "best") else ids[::-1]  # no votes: ties go oldest first
    if sort != "hot":
        assert [c["id"] for c in page["comments"]] == expected
    for c in page["comments"]:
        assert set(c) >= COMMENT_FIELDS


def test_get_comments_unknown_thread_and_bad_parameters(api, key):
    assert_error(api.get(f"/api/threads/{key}/comments"), 404, "thread_not_found")
    api.comment(key)
    assert_error(api.get(f"/api/threads/{key}/comments", sort="random"), 400, "invalid_sort")
    assert_error(api.get(f"/api/threads/{key}/comments", limit="0"), 400, "invalid_parameter")
    assert_error(api.get(f"/api/threads/{key}/comments", limit="201"), 400, "invalid_parameter")
    assert_error(api.get(f"/api/threads/{key}/comments", limit="x"), 400, "invalid_parameter")
    assert_error(api.get(f"/api/threads/{key}/comments", cursor="not-a-cursor"), 400, "invalid_cursor")
    assert_error(api.get(f"/api/threads/{key}/comments", at="-1"), 400, "invalid_parameter")
    assert_error(api.get(f"/api/threads/{key}/comments", at="soon"), 400, "invalid_parameter")


def test_limit_and_cursor_paging(api, key):
    ids = [api.comment(key, f"c{i}")["id"] for i in range(7)]
    page = api.comments(key, limit=3)
    assert [c["id"] for c in page["comments"]] == ids[:3]
    assert page["next_cursor"]
    page2 = api.comments(key, limit=3, cursor=page["next_cursor"])
    assert [c["id"] for c in page2["comments"]] == ids[3:6]
    page3 = api.comments(key, limit=3, cursor=page2["next_cursor"])
    assert [c["id"] for c in page3["comments"]] == ids[6:]
    assert page3["next_cursor"] is None
    # a cursor of one sort is refused by another
    assert_error(api.get(f"/api/threads/{key}/comments", sort="newest", cursor=page["next_cursor"]), 400,
                 "invalid_cursor")


def test_time_travel(api, make_client, key):
    a = api.comment(key, "first version")
    p_a = head()
    b = api.comment(key, "b")
    p_b = head()
    make_client().vote(a["id"], 1)
    p_vote = head()
    assert api.patch(f"/api/comments/{a['id']}", {"body": "second version"}).status_code == 200
    p_edit = head()
    api.comment(f"{key}-other", "another thread in between")
    assert api.delete(f"/api/comments/{b['id']}").status_code == 200
    p_del = head()

    def at(p):
        return api.comments(key, at=p)

    s = at(p_a)
    assert s["position"] == p_a and s["comment_count"] == 1
    assert [c["id"] for c in s["comments"]] == [a["id"]]
    assert "first version" in s["comments"][0]["body_html"] and s["comments"][0]["up"] == 0
    s = at(p_b)
    assert [c["id"] for c in s["comments"]] == [a["id"], b["id"]] and s["comment_count"] == 2
    s = at(p_vote)
    assert s["comments"][0]["up"] == 1 and "first version" in s["comments"][0]["body_html"]
    s = at(p_edit)
    assert "second version" in s["comments"][0]["body_html"] and s["comments"][0]["edited_at"]
    s = at(p_del - 1)  # the other thread's event moved the log, not this thread
    assert s["position"] == p_edit and s["comment_count"] == 2
    s = at(p_del)
    assert [c["id"] for c in s["comments"]] == [a["id"]] and s["comment_count"] == 1
    # at or beyond the head: the live thread
    live = api.comments(key)
    assert at(head() + 1000)["comments"] == live["comments"]
    # before the thread existed
    assert_error(api.get(f"/api/threads/{key}/comments", at=str(p_a - 2)), 404, "thread_not_found")
    # time travel pages with cursors too
    first = api.comments(key, at=p_b, limit=1)
    assert [c["id"] for c in first["comments"]] == [a["id"]]
    second = api.comments(key, at=p_b, limit=1, cursor=first["next_cursor"])
    assert [c["id"] for c in second["comments"]] == [b["id"]] and second["next_cursor"] is None


def test_events_public_vs_staff(api, make_client, key, live_db):
    from django.contrib.auth import get_user_model

    before = head()
    response = api.post(f"/api/threads/{key}/comments",
                        {"body": "hi", "author_name": "Ann", "author_email": "ann@example.org"},
                        HTTP_X_REQUEST_ID="req-123")
    comment = response.json()["comment"]
    make_client().vote(comment["id"], 1)
    assert api.patch(f"/api/comments/{comment['id']}", {"body": "hi again"}).status_code == 200
    assert api.delete(f"/api/comments/{comment['id']}").status_code == 200

    page = api.get("/api/events", thread=key, after=0).json()
    assert set(page) >= {"events", "next"}
    events = page["events"]
    assert [e["type"] for e in events] == ["ThreadOpened", "CommentPosted", "VoteCast", "CommentEdited",
                                           "CommentDeleted"]
    assert [e["stream_version"] for e in events] == [1, 2, 3, 4, 5]
    assert [e["position"] for e in events] == list(range(before + 1, before + 6))
    assert page["next"] == before + 5
    for e in events:
        assert set(e) >= {"position", "id", "type", "version", "stream", "stream_version", "data", "metadata",
                          "recorded_at"}
        assert e["stream"] == key
        assert "actor" not in e["metadata"] and "ip_hash" not in e["metadata"]
    posted = events[1]["data"]
    assert posted["comment_id"] == comment["id"] and posted["body"] == "hi"
    assert "author_email" not in posted and "author_id" not in posted
    assert "voter" not in events[2]["data"] and events[2]["data"]["value"] == 1
    assert "editor_id" not in events[3]["data"] and "deleted_by" not in events[4]["data"]
    assert events[1]["metadata"].get("request_id") == "req-123"
    assert "ann@example.org" not in str(page)

    # after / limit / paging over the whole log
    page = api.get("/api/events", after=before, limit=2).json()
    assert [e["position"] for e in page["events"]] == [before + 1, before + 2] and page["next"] == before + 2
    assert_error(api.get("/api/events", limit="0"), 400, "invalid_parameter")
    assert_error(api.get("/api/events", after="x"), 400, "invalid_parameter")
    assert_error(api.get("/api/events", thread="bad key!"), 400, "invalid_key")

    # staff see everything
    User = get_user_model()
    staff = User.objects.create_user(username=f"staff-{uuid.uuid4().hex[:8]}", password="x", is_staff=True)
    staff_client = make_client()
    staff_client.client.force_login(staff)
    full = staff_client.get("/api/events", thread=key).json()["events"]
    assert full[1]["data"]["author_email"] == "ann@example.org"
    assert full[1]["data"]["author_id"].startswith("guest:")
    assert full[2]["data"]["voter"].startswith("guest:")
    assert full[1]["metadata"]["actor"] == full[1]["data"]["author_id"]
    # a signed-in user who is not staff is a member of the public
    plain = User.objects.create_user(username=f"user-{uuid.uuid4().hex[:8]}", password="x")
    plain_client = make_client()
    plain_client.client.force_login(plain)
    assert "author_email" not in plain_client.get("/api/events", thread=key).json()["events"][1]["data"]


def test_staff_may_edit_and_delete_anything(api, make_client, key, settings):
    from django.contrib.auth import get_user_model

    settings.THREADLOG = {**settings.THREADLOG, "EDIT_WINDOW_SECONDS": 0}
    comment = api.comment(key, "rude")
    staff = get_user_model().objects.create_user(username=f"mod-{uuid.uuid4().hex[:8]}", is_staff=True)
    mod = make_client()
    mod.client.force_login(staff)
    assert mod.patch(f"/api/comments/{comment['id']}", {"body": "[edited by a moderator]"}).status_code == 200
    assert mod.delete(f"/api/comments/{comment['id']}").status_code == 200
    assert api.get(f"/api/threads/{key}").json()["comment_count"] == 0


def test_cors_preflight_for_embedding_origin(api, key, settings):
    settings.EMBED_ORIGINS = ["https://blog.example"]
    response = api.client.options(f"/api/threads/{key}/comments", HTTP_ORIGIN="https://blog.example",
                                  HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://blog.example"
    ok = api.post(f"/api/threads/{key}/comments", {"body": "from the blog", "author_name": "A"},
                  HTTP_ORIGIN="https://blog.example")
    assert ok.status_code == 201 and ok["Access-Control-Allow-Origin"] == "https://blog.example"
    assert ORIGIN  # the site itself stays allowed (see test_rejections)
