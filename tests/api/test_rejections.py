"""Every rejection of the API is a 4xx {"error": {"code", "message"}} and appends nothing to the log."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.api.conftest import assert_error, head


@pytest.fixture
def thread(api, key):
    """A thread with a comment by `api` (the author), a reply, and a deleted comment."""
    top = api.comment(key, "top")
    reply = api.comment(key, "reply", parent_id=top["id"])
    gone = api.comment(key, "gone")
    assert api.delete(f"/api/comments/{gone['id']}").status_code == 200
    return {"key": key, "top": top, "reply": reply, "gone": gone}


def _post_url(key):
    return f"/api/threads/{key}/comments"


VALID = {"body": "hello", "author_name": "Ann"}


@pytest.mark.parametrize("raw", ["{", "not json", '{"body": "x",}', "[1, 2", "\xff\xfe"])
def test_malformed_json(api, key, raw):
    before = head()
    assert_error(api.post(_post_url(key), raw.encode("latin-1")), 400, "malformed_json")
    assert head() == before


def test_empty_body(api, key):
    before = head()
    # Django's client sends no Content-Type with an empty body: 415; with one, the missing payload is a 422
    assert_error(api.post(_post_url(key), ""), 415)
    assert_error(api.client.generic("POST", _post_url(key), b"", CONTENT_TYPE="application/json",
                                    HTTP_ORIGIN="http://testserver"), 422, "invalid_request")
    assert head() == before


def test_malformed_json_code(api, key):
    assert_error(api.post(_post_url(key), "{"), 400, "malformed_json")


@pytest.mark.parametrize("payload", [
    {"body": 123, "author_name": "Ann"},
    {"body": "x", "author_name": None},
    {"body": ["x"], "author_name": "Ann"},
    {"body": "x", "author_name": 5},
    {"body": "x", "author_name": "Ann", "parent_id": 7},
    {"body": "x", "author_name": "Ann", "author_email": 1},
    {"body": "x", "author_name": "Ann", "author_email": "not-an-email"},
    {"body": "x", "author_name": "Ann", "unexpected": "field"},
    [VALID],
])
def test_wrong_types(api, key, payload):
    before = head()
    assert_error(api.post(_post_url(key), payload), 422, "invalid_request")
    assert head() == before


@pytest.mark.parametrize("payload", ['"a string"', "42", "null", "true"])
def test_json_that_is_not_an_object(api, key, payload):
    before = head()
    response = api.post(_post_url(key), payload)
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)
    assert head() == before


@pytest.mark.parametrize("payload", [
    {},
    {"body": "x"},
    {"author_name": "Ann"},
    {"body": "", "author_name": "Ann"},
    {"body": "   \n ", "author_name": "Ann"},
    {"body": "x", "author_name": ""},
    {"body": "x", "author_name": "A" * 65},
])
def test_missing_or_empty_fields(api, key, payload):
    before = head()
    assert_error(api.post(_post_url(key), payload), 422, "invalid_request")
    assert head() == before


def test_body_size_limits(api, key):
    before = head()
    assert_error(api.post(_post_url(key), {"body": "x" * 10_001, "author_name": "Ann"}), 422, "invalid_request")
    assert head() == before
    # exactly 10,000 characters (multi-byte ones too) is fine
    assert api.post(_post_url(key), {"body": "é" * 10_000, "author_name": "Ann"}).status_code == 201
    comment_id = api.comments(key)["comments"][0]["id"]
    before = head()
    assert_error(api.patch(f"/api/comments/{comment_id}", {"body": "y" * 10_001}), 422, "invalid_request")
    assert head() == before


def test_request_over_64_kb(api, key, thread):
    before = head()
    big = json.dumps({"body": "x" * (65 * 1024), "author_name": "Ann"})
    assert_error(api.post(_post_url(key), big), 413, "payload_too_large")
    assert_error(api.patch(f"/api/comments/{thread['top']['id']}", json.dumps({"body": "x" * 70_000})), 413)
    assert_error(api.post(f"/api/comments/{thread['top']['id']}/vote", " " * 70_000 + '{"value": 1}'), 413)
    assert head() == before


def test_unknown_thread_is_404(api, key):
    assert_error(api.get(f"/api/threads/{key}"), 404, "thread_not_found")
    assert_error(api.get(f"/api/threads/{key}/comments"), 404, "thread_not_found")
    before = head()
    # a reply into a thread that does not exist
    assert_error(api.post(_post_url(key), {**VALID, "parent_id": str(uuid.uuid4())}), 404)
    assert head() == before


def test_unknown_comment(api, thread):
    before = head()
    missing = str(uuid.uuid4())
    assert_error(api.post(f"/api/comments/{missing}/vote", {"value": 1}), 404, "comment_not_found")
    assert_error(api.post("/api/comments/not-a-uuid/vote", {"value": 1}), 404, "comment_not_found")
    assert_error(api.patch(f"/api/comments/{missing}", {"body": "x"}), 404, "comment_not_found")
    assert_error(api.delete(f"/api/comments/{missing}"), 404, "comment_not_found")
    assert_error(api.post(_post_url(thread["key"]), {**VALID, "parent_id": missing}), 404, "comment_not_found")
    assert_error(api.post(_post_url(thread["key"]), {**VALID, "parent_id": "nope"}), 404, "comment_not_found")
    assert head() == before


def test_parent_from_another_thread(api, thread, key):
    other = f"{key}-b"
    api.comment(other, "other thread")
    before = head()
    assert_error(api.post(_post_url(other), {**VALID, "parent_id": thread["top"]["id"]}), 404, "comment_not_found")
    assert head() == before


def test_deleted_parent_and_deleted_targets(api, make_client, thread):
    before = head()
    gone = thread["gone"]["id"]
    assert_error(api.post(_post_url(thread["key"]), {**VALID, "parent_id": gone}), 409, "parent_deleted")
    assert_error(make_client().post(f"/api/comments/{gone}/vote", {"value": 1}), 409, "comment_deleted")
    assert_error(api.patch(f"/api/comments/{gone}", {"body": "resurrect"}), 409, "comment_deleted")
    assert_error(api.delete(f"/api/comments/{gone}"), 409, "comment_deleted")
    assert head() == before


@pytest.mark.parametrize("payload", [{"value": 2}, {"value": -2}, {"value": "1"}, {"value": 1.0}, {"value": None},
                                     {"value": True}, {}, {"value": 1, "extra": 1}, [1]])
def test_bad_vote_value(api, thread, payload):
    before = head()
    assert_error(api.post(f"/api/comments/{thread['top']['id']}/vote", payload), 422, "invalid_request")
    assert head() == before


def test_not_the_author(make_client, thread):
    stranger = make_client()
    before = head()
    assert_error(stranger.patch(f"/api/comments/{thread['top']['id']}", {"body": "mine now"}), 403, "not_author")
    assert_error(stranger.delete(f"/api/comments/{thread['top']['id']}"), 403, "not_author")
    assert head() == before


def test_forged_author_cookie_is_not_the_author(api, make_client, thread):
    forger = make_client()
    forger.client.cookies["tl_author"] = api.client.cookies["tl_author"].value.split(":")[0] + ":forged"
    before = head()
    assert_error(forger.delete(f"/api/comments/{thread['top']['id']}"), 403, "not_author")
    assert head() == before


def test_edit_window_passed(api, thread, settings):
    settings.THREADLOG = {**settings.THREADLOG, "EDIT_WINDOW_SECONDS": 0}
    before = head()
    assert_error(api.patch(f"/api/comments/{thread['top']['id']}", {"body": "late"}), 403, "edit_window_passed")
    assert_error(api.delete(f"/api/comments/{thread['top']['id']}"), 403, "edit_window_passed")
    assert head() == before


def test_origin_required_and_checked(api, key, thread):
    before = head()
    url = _post_url(key)
    # no Origin, no Referer
    assert_error(api.client.post(url, json.dumps(VALID), content_type="application/json"), 403, "origin_required")
    assert_error(api.client.post(f"/api/comments/{thread['top']['id']}/vote", '{"value": 1}',
                                 content_type="application/json"), 403, "origin_required")
    assert_error(api.client.delete(f"/api/comments/{thread['top']['id']}"), 403, "origin_required")
    assert_error(api.post(url, VALID, HTTP_ORIGIN="null"), 403, "origin_required")
    # a foreign origin, or a foreign referer
    assert_error(api.post(url, VALID, HTTP_ORIGIN="https://evil.example"), 403, "origin_not_allowed")
    assert_error(api.client.post(url, json.dumps(VALID), content_type="application/json",
                                 HTTP_REFERER="https://evil.example/page"), 403, "origin_not_allowed")
    assert head() == before
    # the site's own Referer is enough
    ok = api.client.post(url, json.dumps(VALID), content_type="application/json",
                         HTTP_REFERER="http://testserver/t/x")
    assert ok.status_code == 201


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                   "application/jsonp"])
def test_wrong_content_type(api, key, thread, ctype):
    before = head()
    assert_error(api.post(_post_url(key), VALID, content_type=ctype), 415, "unsupported_media_type")
    assert_error(api.post(f"/api/comments/{thread['top']['id']}/vote", {"value": 1}, content_type=ctype), 415)
    assert_error(api.patch(f"/api/comments/{thread['top']['id']}", {"body": "x"}, content_type=ctype), 415)
    assert head() == before


def test_content_type_with_charset_is_json(api, key):
    assert api.post(_post_url(key), VALID, content_type="application/json; charset=utf-8").status_code == 201


@pytest.mark.parametrize("bad", ["has space", "a/b", "x" * 201, "ünïcode", "semi;colon"])
def test_invalid_key(api, bad):
    from urllib.parse import quote

    path = quote(bad, safe="")
    before = head()
    response = api.post(f"/api/threads/{path}/comments", VALID)
    assert 400 <= response.status_code < 500
    if response.status_code != 404:  # "a/b" does not even route
        assert_error(response, 400, "invalid_key")
        assert_error(api.get(f"/api/threads/{path}"), 400, "invalid_key")
        assert_error(api.get(f"/api/threads/{path}/comments"), 400, "invalid_key")
    assert head() == before


def test_invalid_idempotency_key(api, key):
    before = head()
    assert_error(api.post(_post_url(key), VALID, HTTP_IDEMPOTENCY_KEY="has space"), 400, "invalid_idempotency_key")
    assert head() == before


def test_rate_limits(make_client, key, settings):
    settings.THREADLOG = {**settings.THREADLOG, "RATE_LIMITS": True, "RATE_POST": (2, 60), "RATE_VOTE": (3, 60),
                          "RATE_IP_FACTOR": 1000}
    poster = make_client()
    first = poster.comment(key, "1")
    poster.comment(key, "2")
    before = head()
    response = poster.post(_post_url(key), VALID)
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    # edits and deletes count as posting
    assert_error(poster.patch(f"/api/comments/{first['id']}", {"body": "edit"}), 429, "rate_limited")
    assert head() == before
    # another guest is not limited by the first one
    make_client().comment(key, "3")
    voter = make_client()
    for value in (1, -1, 0):
        voter.vote(first["id"], value)
    before = head()
    assert_error(voter.post(f"/api/comments/{first['id']}/vote", {"value": 1}), 429, "rate_limited")
    assert head() == before


def test_rate_limit_per_ip(make_client, key, settings):
    settings.THREADLOG = {**settings.THREADLOG, "RATE_LIMITS": True, "RATE_POST": (1, 60), "RATE_VOTE": (1, 60),
                          "RATE_IP_FACTOR": 3}
    # three guests from one address reach the IP limit (1 x 3); a fourth is refused
    for _ in range(3):
        make_client().comment(key, "from the same NAT", REMOTE_ADDR="10.9.8.7")
    before = head()
    assert_error(make_client().post(_post_url(key), VALID, REMOTE_ADDR="10.9.8.7"), 429, "rate_limited")
    assert head() == before
    make_client().comment(key, "another address", REMOTE_ADDR="10.9.8.8")


def test_idempotency_key_retry(api, make_client, key):
    before = head()
    first = api.post(_post_url(key), VALID, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert first.status_code == 201
    after_first = head()
    assert after_first == before + 2
    retry = api.post(_post_url(key), VALID, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert head() == after_first
    # even a retry with another body returns the first response (the key names the request)
    retry2 = api.post(_post_url(key), {"body": "changed", "author_name": "Ann"}, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert retry2.json() == first.json() and head() == after_first
    assert api.comments(key)["comment_count"] == 1
    # keys are per client: another guest's identical key is a new request
    other = make_client().post(_post_url(key), VALID, HTTP_IDEMPOTENCY_KEY="retry-1")
    assert other.status_code == 201 and other.json()["comment"]["id"] != first.json()["comment"]["id"]
    assert head() == after_first + 1
    # votes too
    comment_id = first.json()["comment"]["id"]
    voter = make_client()
    v1 = voter.post(f"/api/comments/{comment_id}/vote", {"value": 1}, HTTP_IDEMPOTENCY_KEY="v-1")
    assert v1.status_code == 200
    pos = head()
    v2 = voter.post(f"/api/comments/{comment_id}/vote", {"value": 1}, HTTP_IDEMPOTENCY_KEY="v-1")
    assert v2.status_code == 200 and v2.json()["position"] == v1.json()["position"] and head() == pos


def test_no_rejected_request_appends(api, make_client, thread, key, settings):
    """All the rejections above, in one go: the log's head does not move."""
    k, top, gone = thread["key"], thread["top"]["id"], thread["gone"]["id"]
    stranger = make_client()
    missing = str(uuid.uuid4())
    rejected = [
        api.post(_post_url(k), "{"),
        api.post(_post_url(k), {"body": 1, "author_name": "A"}),
        api.post(_post_url(k), {"body": "x"}),
        api.post(_post_url(k), {"body": "x" * 10_001, "author_name": "A"}),
        api.post(_post_url(k), json.dumps({"body": "x" * 70_000, "author_name": "A"})),
        api.post(_post_url(k), {**VALID, "parent_id": missing}),
        api.post(_post_url(f"{key}-nothread"), {**VALID, "parent_id": missing}),
        api.post(_post_url(k), {**VALID, "parent_id": gone}),
        api.post(f"/api/comments/{top}/vote", {"value": 5}),
        api.post(f"/api/comments/{missing}/vote", {"value": 1}),
        api.post(f"/api/comments/{gone}/vote", {"value": 1}),
        stranger.patch(f"/api/comments/{top}", {"body": "x"}),
        stranger.delete(f"/api/comments/{top}"),
        api.patch(f"/api/comments/{gone}", {"body": "x"}),
        api.client.post(_post_url(k), json.dumps(VALID), content_type="application/json"),
        api.post(_post_url(k), VALID, content_type="text/plain"),
        api.post("/api/threads/bad%20key/comments", VALID),
        api.post(_post_url(k), VALID, HTTP_IDEMPOTENCY_KEY=" "),
    ]
    settings.THREADLOG = {**settings.THREADLOG, "EDIT_WINDOW_SECONDS": 0}
    rejected.append(api.patch(f"/api/comments/{top}", {"body": "late"}))
    settings.THREADLOG = {**settings.THREADLOG, "RATE_LIMITS": True, "RATE_POST": (0, 60), "RATE_VOTE": (0, 60)}
    rejected.append(api.post(_post_url(k), VALID))  # a limit of 0 refuses every write (it used to crash)
    rejected.append(api.post(f"/api/comments/{top}/vote", {"value": 1}))
    # measure from a head read after the setup, then replay every rejection once more against it
    before = head()
    settings.THREADLOG = {**settings.THREADLOG, "RATE_LIMITS": False}
    for response in rejected:
        assert 400 <= response.status_code < 500, response.content
        assert_error(response, response.status_code)
    again = [
        api.post(_post_url(k), "{"),
        api.post(_post_url(k), {**VALID, "parent_id": gone}),
        api.post(f"/api/comments/{top}/vote", {"value": 5}),
        stranger.delete(f"/api/comments/{top}"),
        api.post(_post_url(k), VALID, content_type="text/plain"),
    ]
    assert all(400 <= r.status_code < 500 for r in again)
    assert head() == before


def test_unknown_api_routes_and_methods_answer_in_json(client, live_db):
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = client.put("/api/threads/demo", data="{}", content_type="application/json", HTTP_ORIGIN="http://testserver")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed" and "GET" in wrong["Allow"]


@pytest.mark.parametrize("field", ["body", "author_name", "title"])
def test_nul_characters_are_refused_on_every_database(client, live_db, key, field):
    from events.store import EventStore

    before = EventStore().head()
    payload = {"body": "fine", "author_name": "Ann", field: "a\x00b"}
    response = client.post(f"/api/threads/{key}/comments", data=json.dumps(payload), content_type="application/json",
                           HTTP_ORIGIN="http://testserver")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert EventStore().head() == before


def test_replies_nest_to_a_limit(client, live_db, key, settings):
    settings.THREADLOG = {**settings.THREADLOG, "MAX_REPLY_DEPTH": 3}
    parent = None
    for depth in range(4):
        payload = {"body": f"depth {depth}", "author_name": "Ann", **({"parent_id": parent} if parent else {})}
        response = client.post(f"/api/threads/{key}/comments", data=json.dumps(payload),
                               content_type="application/json", HTTP_ORIGIN="http://testserver")
        assert response.status_code == 201
        parent = response.json()["comment"]["id"]
    too_deep = client.post(f"/api/threads/{key}/comments",
                           data=json.dumps({"body": "one more", "author_name": "Ann", "parent_id": parent}),
                           content_type="application/json", HTTP_ORIGIN="http://testserver")
    assert too_deep.status_code == 422 and too_deep.json()["error"]["code"] == "reply_too_deep"


@pytest.mark.parametrize("raw", [["oldest", 10**30], ["most_voted", 1, 10**30], ["best", 1, 1e308 * 10],
                                 ["oldest", -1]])
def test_out_of_range_cursors_are_a_400(client, live_db, key, raw):
    import base64

    posted = client.post(f"/api/threads/{key}/comments", data=json.dumps({"body": "x", "author_name": "Ann"}),
                         content_type="application/json", HTTP_ORIGIN="http://testserver")
    assert posted.status_code == 201
    cursor = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    response = client.get(f"/api/threads/{key}/comments?sort={raw[0]}&cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"
