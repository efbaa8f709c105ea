"""Inline feedback through the HTTP API: anchored comments, GET …/anchors, ?anchor= and bad anchors (issue 15)."""
from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import assert_error, head

PASSAGE = {"exact": "the reading room closes at six", "prefix": "shorter than before and ",
           "suffix": ". In 2019 there", "start": 120, "end": 150}


def post(api, key, body="On this passage", anchor=None, **extra):
    payload = {"body": body, "author_name": "Ann", **extra}
    if anchor is not None:
        payload["anchor"] = anchor
    return api.post(f"/api/threads/{key}/comments", payload)


def anchors(api, key, **params):
    response = api.get(f"/api/threads/{key}/anchors", **params)
    assert response.status_code == 200, response.content
    return response.json()


def test_anchored_comment_carries_its_anchor_and_replies_inherit_it(api, key):
    plain = api.comment(key, "not anchored")
    assert plain["anchor"] is None
    response = post(api, key, anchor={**PASSAGE, "container": "p-hours"})
    assert response.status_code == 201, response.content
    comment = response.json()["comment"]
    anchor = comment["anchor"]
    assert anchor == {**PASSAGE, "container": "p-hours", "id": anchor["id"]}
    assert len(anchor["id"]) == 16
    reply = api.comment(key, "a reply", parent_id=comment["id"])
    assert reply["anchor"] == anchor
    page = api.comments(key)
    by_id = {c["id"]: c for c in page["comments"]}
    assert by_id[plain["id"]]["anchor"] is None
    assert by_id[comment["id"]]["anchor"] == anchor
    assert by_id[comment["id"]]["replies"][0]["anchor"] == anchor
    # the log: CommentPosted v4 with the anchor as given; unanchored ones and replies without one
    events = {e["data"]["comment_id"]: e for e in api.get("/api/events", thread=key).json()["events"]
              if e["type"] == "CommentPosted"}
    assert events[comment["id"]]["version"] == 4
    assert events[comment["id"]]["data"]["anchor"] == {**PASSAGE, "container": "p-hours"}
    assert "anchor" not in events[plain["id"]]["data"] and "anchor" not in events[reply["id"]]["data"]


def test_only_the_quote_is_needed(api, key):
    comment = post(api, key, anchor={"exact": "six"}).json()["comment"]
    assert comment["anchor"] == {"id": comment["anchor"]["id"], "exact": "six", "prefix": "", "suffix": "",
                                 "start": None, "end": None, "container": None}


def test_anchors_list_counts_published_comments_per_passage(api, make_client, key):
    first = post(api, key, "one", PASSAGE).json()["comment"]
    other = make_client()
    second = post(other, key, "two", {**PASSAGE, "start": 121, "end": 151}).json()["comment"]  # same passage
    assert second["anchor"]["id"] == first["anchor"]["id"]
    elsewhere = post(api, key, "three", {"exact": "Membership remains free", "start": 10, "end": 33}).json()["comment"]
    api.comment(key, "reply counts too", parent_id=first["id"])
    api.comment(key, "unanchored")
    held = post(other, key, "held as spam", {"exact": "Pending passage"}, website="bot")  # the honeypot: held
    assert held.status_code == 201 and held.json()["comment"]["status"] != "published"
    got = anchors(api, key)
    assert got["position"] == head()
    # in the article's order by their position hints
    assert [(a["id"], a["comment_count"]) for a in got["anchors"]] == [
        (elsewhere["anchor"]["id"], 1), (first["anchor"]["id"], 3)]
    top = got["anchors"][1]
    assert {k: top[k] for k in ("exact", "prefix", "suffix", "start", "end")} == PASSAGE
    assert set(top) >= {"id", "exact", "prefix", "suffix", "comment_count"}
    # deleting one takes it off the count; the last one takes the anchor off the list
    assert api.delete(f"/api/comments/{elsewhere['id']}").status_code == 200
    assert [(a["id"], a["comment_count"]) for a in anchors(api, key)["anchors"]] == [(first["anchor"]["id"], 3)]


def test_comments_filtered_to_one_anchor(api, key):
    first = post(api, key, "one", PASSAGE).json()["comment"]
    post(api, key, "other passage", {"exact": "somewhere else"})
    api.comment(key, "unanchored")
    api.comment(key, "a reply", parent_id=first["id"])
    page = api.comments(key, anchor=first["anchor"]["id"])
    assert [c["id"] for c in page["comments"]] == [first["id"]]
    assert [r["body_html"] for r in page["comments"][0]["replies"]] == ["<p>a reply</p>"]
    assert api.comments(key, anchor="0" * 16)["comments"] == []
    for sort in ("newest", "best"):
        assert [c["id"] for c in api.comments(key, anchor=first["anchor"]["id"], sort=sort)["comments"]] == [first["id"]]
    assert_error(api.get(f"/api/threads/{key}/comments", anchor="not-an-id"), 400, "invalid_parameter")


BAD_ANCHORS = [
    {"exact": ""},
    {"exact": "   \n "},
    {"exact": "x" * 1001},
    {"prefix": "no exact"},
    {"exact": 12},
    {"exact": ["a"]},
    {"exact": "a", "prefix": ["b"]},
    {"exact": "a", "suffix": None, "prefix": 3},
    {"exact": "a", "prefix": "p" * 65},
    {"exact": "a", "start": "3", "end": 5},
    {"exact": "a", "start": True},
    {"exact": "a", "start": 1.5},
    {"exact": "a", "start": -1},
    {"exact": "a", "start": 9, "end": 3},
    {"exact": "a", "container": 7},
    {"exact": "a", "colour": "red"},
    {"exact": "a\x00b"},
    "the passage",
    ["the passage"],
    7,
]


@pytest.mark.parametrize("anchor", BAD_ANCHORS, ids=range(len(BAD_ANCHORS)))
def test_bad_anchors_get_422_and_append_nothing(api, key, anchor):
    api.comment(key, "the thread exists")
    before = head()
    error = assert_error(post(api, key, anchor=anchor), 422, "invalid_request")
    assert any(f["field"].startswith("anchor") for f in error["fields"]), error
    assert head() == before


def test_a_reply_cannot_bring_an_anchor_of_its_own(api, key):
    top = post(api, key, anchor=PASSAGE).json()["comment"]
    before = head()
    error = assert_error(post(api, key, "re", anchor={"exact": "other"}, parent_id=top["id"]), 422,
                         "invalid_request")
    assert error["fields"][0]["field"] == "anchor"
    assert head() == before


def test_anchors_of_unknown_and_invalid_threads(api):
    assert_error(api.get(f"/api/threads/none-{uuid.uuid4().hex[:8]}/anchors"), 404, "thread_not_found")
    assert_error(api.get("/api/threads/bad%20key/anchors"), 400, "invalid_key")


def test_time_travel_rebuild_and_verify_keep_anchors(api, key):
    from events.store import EventStore
    from projections.rebuild import rebuild, verify

    first = post(api, key, "one", PASSAGE).json()["comment"]
    at = head()
    post(api, key, "two", {"exact": "later passage"})
    assert api.delete(f"/api/comments/{first['id']}").status_code == 200
    now = anchors(api, key)["anchors"]
    assert [a["exact"] for a in now] == ["later passage"]
    then = anchors(api, key, at=at)
    assert then["position"] == at
    assert [(a["exact"], a["comment_count"]) for a in then["anchors"]] == [(PASSAGE["exact"], 1)]
    page = api.comments(key, at=at, anchor=first["anchor"]["id"])
    assert [c["anchor"] for c in page["comments"]] == [first["anchor"]]
    store = EventStore()
    assert verify(store) is None
    rebuild(store)
    assert verify(store) is None
    assert anchors(api, key)["anchors"] == now


def test_old_events_read_as_unanchored(api, key):
    from events.formats import CommentPosted as CommentPostedV3
    from events.store import EventStore
    from events.types import upcast
    from projections.base import project_pending
    from projections.rebuild import verify

    api.comment(key, "the thread exists")
    store = EventStore()
    old = str(uuid.uuid4())
    with store.write_transaction():
        recorded = store.append(key, [CommentPostedV3(comment_id=old, body="v3", author_id="guest:old",
                                                      author_name="Old")])
        project_pending(store)
    assert recorded[0].version == 3
    version, data = upcast("CommentPosted", 3, dict(recorded[0].data))
    assert version == 4 and "anchor" not in data
    comment = next(c for c in api.comments(key)["comments"] if c["id"] == old)
    assert comment["anchor"] is None
    assert verify(store) is None



def test_position_hints_written_as_whole_numbers_with_a_point_are_integers(api, key):
    """JSON has one kind of number: 16653.0 is the integer 16653 (as JSON Schema, and so the API document, say);
    a fraction is refused."""
    answer = post(api, key, anchor={"exact": "the passage", "start": 10.0, "end": 21.0})
    assert answer.status_code == 201, answer.content
    anchor = answer.json()["comment"]["anchor"]
    assert (anchor["start"], anchor["end"]) == (10, 21)
    assert post(api, key, anchor={"exact": "the passage", "start": 10.5}).status_code == 422
