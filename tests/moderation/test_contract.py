"""The moderation contract as a reviewer checked it over HTTP: the four statuses only (a spam-marked comment reads
as rejected), permalinks of pinned comments, the context endpoint's viewer, staff exempt from IP bans, and staff
comments never held by reports."""
from __future__ import annotations

import pytest

from tests.conftest import unique_key

from .conftest import ApiClient, assert_error, head
from .test_api import _events, _moderate

STATUSES = ["published", "pending", "rejected", "hidden"]


def _find(page: dict, comment_id: str) -> dict:
    stack = list(page["comments"])
    while stack:
        c = stack.pop()
        if c["id"] == comment_id:
            return c
        stack.extend(c["replies"])
    raise AssertionError(f"{comment_id} not listed")


# --- 1. status is one of four values: spam-marked reads as rejected ---------------------------------------


def test_spam_marked_comment_reads_as_rejected_everywhere(guest, staff, new_client, key):
    c = guest.comment(key, "buy cheap watches")
    reply = new_client().comment(key, "a reply keeps the parent listed", parent_id=c["id"])
    answer = _moderate(staff, c["id"], "spam", "bot").json()["comment"]
    assert answer["status"] == "rejected" and answer["spam"] is True
    assert _events(staff, key)[-1]["type"] == "CommentMarkedSpam"  # the audit keeps the event's name
    mine = _find(guest.comments(key), c["id"])  # the author, by their cookie
    assert mine["status"] == "rejected" and "spam" not in mine
    staff_view = _find(staff.comments(key), c["id"])
    assert staff_view["status"] == "rejected" and staff_view["spam"] is True
    public = _find(new_client().comments(key), c["id"])  # the tombstone that keeps the reply
    assert public["status"] == "rejected" and public["deleted"] is True and "spam" not in public
    for who in (guest, staff):
        ctx = who.get(f"/api/comments/{reply['id']}/context").json()
        assert ctx["ancestors"][0]["status"] == "rejected"
    rejected = staff.get("/api/moderation/queue", tab="rejected", thread=key).json()
    item = rejected["items"][0]
    assert item["comment"]["id"] == c["id"] and item["status"] == "rejected" and item["spam"] is True
    assert item["decision"] == "CommentMarkedSpam" and rejected["counts"]["rejected"] == 1
    assert item["author"]["record"]["rejected"] == 1
    recent = staff.get("/api/moderation/queue", tab="recent", thread=key).json()["items"]
    assert {i["status"] for i in recent} <= set(STATUSES)
    # a spam-marked comment may still be rejected (the reason changes) and restored, as before
    again = _moderate(staff, c["id"], "reject").json()["comment"]
    assert again["status"] == "rejected" and "spam" not in again
    assert _events(staff, key)[-1]["type"] == "CommentRejected"
    assert _moderate(staff, c["id"], "restore").json()["comment"]["status"] == "published"


def test_openapi_status_enum_is_the_contracts_four(guest):
    schema = guest.get("/api/openapi.json").json()
    assert schema["components"]["schemas"]["Comment"]["properties"]["status"]["enum"] == STATUSES


# --- 2. the permalink of a pinned comment (and of a reply under it) is the first page ---------------------


def test_context_of_a_pinned_comment_and_its_reply_points_at_the_first_page(guest, staff, key):
    old = guest.comment(key, "old, pinned")
    for i in range(3):
        guest.comment(key, f"newer {i}")
    reply = guest.comment(key, "a reply under the pinned one", parent_id=old["id"])
    _moderate(staff, old["id"], "pin")
    for sort in ("oldest", "newest", "most_voted", "best", "hot"):
        for cid in (old["id"], reply["id"]):
            ctx = guest.get(f"/api/comments/{cid}/context", sort=sort).json()
            assert ctx["cursor"] is None, (sort, cid)
            first = guest.comments(key, sort=sort, limit=1)["comments"]
            assert first[0]["id"] == old["id"]


# --- 3. /context answers each viewer as the list does ----------------------------------------------------


def test_context_shows_a_pending_comment_to_its_author_and_staff_only(guest, staff, new_client, conf, key):
    top = guest.comment(key, "published first")
    writer = new_client()
    conf(MODERATION="all")
    parent = writer.comment(key, "pending, with a reply")
    # a reply goes to published comments only: it is given one while approved, then the parent is rejected
    conf(MODERATION="off")
    _moderate(staff, parent["id"], "approve")
    reply = guest.comment(key, "reply", parent_id=parent["id"])
    _moderate(staff, parent["id"], "reject")
    conf(MODERATION="all")
    lone = writer.comment(key, "pending, no replies")
    assert lone["status"] == "pending"
    for who in (writer, staff):
        ctx = who.get(f"/api/comments/{lone['id']}/context", sort="newest").json()
        assert ctx["comment"]["status"] == "pending" and "pending, no replies" in ctx["comment"]["body_html"]
        assert ctx["comment"]["author"]["name"] == "Ann" and ctx["comment"]["deleted"] is False
        # the author and staff list their pending comment first in newest: the first page
        listed = [c["id"] for c in who.comments(key, sort="newest", limit=1)["comments"]]
        assert ctx["cursor"] is None and listed == [lone["id"]]
        ctx = who.get(f"/api/comments/{reply['id']}/context").json()
        assert ctx["ancestors"][0]["status"] == "rejected" and "with a reply" in ctx["ancestors"][0]["body_html"]
    assert_error(guest.get(f"/api/comments/{lone['id']}/context"), 404, "comment_not_found")
    assert_error(new_client().get(f"/api/comments/{lone['id']}/context"), 404, "comment_not_found")
    public = new_client().get(f"/api/comments/{reply['id']}/context").json()
    assert public["ancestors"][0]["deleted"] is True and public["ancestors"][0]["body_html"] == ""
    # the public's cursor skips what the public does not list (`lone`): its page starts with `top`
    reader = new_client()
    cursor = reader.get(f"/api/comments/{top['id']}/context", sort="newest").json()["cursor"]
    assert reader.comments(key, sort="newest", cursor=cursor)["comments"][0]["id"] == top["id"]


def test_context_cursor_counts_the_viewers_own_pending_comments(guest, staff, new_client, conf, key):
    """In `oldest`, the author's own pending comment is listed before a later one: the cursor says so."""
    conf(MODERATION="all")
    writer = new_client()
    pending = writer.comment(key, "mine, pending")
    conf(MODERATION="off")
    later = guest.comment(key, "later, published")
    for who in (writer, staff):
        ctx = who.get(f"/api/comments/{later['id']}/context").json()
        page = who.comments(key, **({"cursor": ctx["cursor"]} if ctx["cursor"] else {}))
        assert page["comments"][0]["id"] == later["id"]
        assert [c["id"] for c in who.comments(key, limit=1)["comments"]] == [pending["id"]]
    assert new_client().get(f"/api/comments/{later['id']}/context").json()["cursor"] is None


# --- 4. staff are exempt from IP bans ---------------------------------------------------------------------


def test_ip_ban_does_not_lock_out_staff_on_the_same_address(guest, staff, new_client, key):
    c = guest.comment(key, "from a shared address")
    ban = staff.post("/api/bans", {"comment_id": c["id"], "scope": "ip", "reason": "shared"})
    assert ban.status_code == 201
    try:
        assert_error(new_client().post(f"/api/threads/{key}/comments", {"body": "hi", "author_name": "N"}), 403,
                     "banned")
        mine = staff.comment(key, "a moderator's note", name="Mod")  # the test client's address is the guest's
        assert mine["status"] == "published"
        assert staff.post(f"/api/comments/{c['id']}/vote", {"value": 1}).status_code == 200
        assert staff.patch(f"/api/comments/{mine['id']}", {"body": "edited note"}).status_code == 200
        assert staff.post(f"/api/comments/{c['id']}/reports", {"reason": "spam"}).status_code == 202
        before = head()
        assert_error(guest.post(f"/api/comments/{mine['id']}/vote", {"value": 1}), 403, "banned")
        assert head() == before
    finally:  # every test client shares the address
        assert staff.delete(f"/api/bans/{ban.json()['ban']['id']}").status_code == 200


# --- 5. reports never hold a staff comment ------------------------------------------------------------------


def test_reports_of_a_staff_comment_are_recorded_but_never_hold_it(staff, new_client, conf, key):
    conf(REPORTS_TO_HOLD=2)
    note = staff.comment(key, "moderator's note", name="Mod")
    for _ in range(3):
        assert new_client().post(f"/api/comments/{note['id']}/reports", {"reason": "abuse"}).status_code == 202
    types = [e["type"] for e in _events(staff, key)]
    assert types.count("CommentReported") == 3 and "CommentHeld" not in types
    page = new_client().comments(key)
    assert page["comment_count"] == 1 and page["comments"][0]["status"] == "published"
    reported = staff.get("/api/moderation/queue", tab="reported", thread=key).json()["items"]
    assert reported[0]["comment"]["id"] == note["id"] and reported[0]["reports"] == 3


def test_reports_still_hold_a_guests_comment(guest, new_client, conf):
    conf(REPORTS_TO_HOLD=2)
    key = unique_key()
    c = guest.comment(key, "rude")
    for _ in range(2):
        new_client().post(f"/api/comments/{c['id']}/reports", {"reason": "abuse"})
    assert [e["type"] for e in _events(guest, key)][-1] == "CommentHeld"
    assert ApiClient().comments(key)["comment_count"] == 0


# --- 6. a published comment held again reads, for the public, like any comment a moderator took away ---------


REMOVED = {"deleted": True, "body_html": "", "author": {"name": "[deleted]"}, "avatar": None, "status": "hidden"}


def _placeholder(comment: dict) -> dict:
    return {k: comment[k] for k in REMOVED}


def _held_again(guest, new_client, conf, key: str, how: str) -> tuple[dict, dict]:
    """A published comment of `guest` with a reply, then held again (`how`: reports or an edit that adds links)."""
    c = guest.comment(key, "the secret words")
    reply = new_client().comment(key, "a reply keeps the parent listed", parent_id=c["id"])
    if how == "reports":
        conf(REPORTS_TO_HOLD=2)
        for _ in range(2):
            assert new_client().post(f"/api/comments/{c['id']}/reports", {"reason": "abuse"}).status_code == 202
    else:
        edited = guest.patch(f"/api/comments/{c['id']}", {"body": "the secret words http://a.example "
                                                                  "http://b.example http://c.example"})
        assert edited.status_code == 200 and edited.json()["comment"]["status"] == "pending"
    return c, reply


@pytest.mark.parametrize("how", ["reports", "edit_links"])
def test_a_comment_held_again_is_a_removed_placeholder_for_the_public(guest, staff, new_client, conf, key, how):
    """Held again with replies, a comment stays in the tree as their parent. The public gets the placeholder every
    comment a moderator took away gets — no body, no name, status `hidden` — not `pending`: that it waits for a
    moderator is for its author and staff."""
    other = new_client()
    hidden = other.comment(key, "hidden by a moderator")
    other.comment(key, "its reply", parent_id=hidden["id"])
    _moderate(staff, hidden["id"], "hide")
    c, reply = _held_again(guest, new_client, conf, key, how)
    assert _events(staff, key)[-1 if how == "reports" else -2]["type"] == "CommentHeld"
    reader = new_client()
    for sort in ("oldest", "newest", "best"):
        answer = reader.get(f"/api/threads/{key}/comments", sort=sort)
        assert b"pending" not in answer.content and b"secret words" not in answer.content
        page = answer.json()
        assert _placeholder(_find(page, c["id"])) == _placeholder(_find(page, hidden["id"])) == REMOVED
        assert _find(page, reply["id"])["status"] == "published" and page["comment_count"] == 2  # the replies
    context = reader.get(f"/api/comments/{reply['id']}/context")
    assert b"pending" not in context.content and _placeholder(context.json()["ancestors"][0]) == REMOVED
    own = reader.get(f"/api/comments/{c['id']}/context")  # its own permalink: the placeholder, as listed
    assert b"pending" not in own.content and _placeholder(own.json()["comment"]) == REMOVED
    past = reader.get(f"/api/threads/{key}/comments", at=head())  # time travel: taken since, taken then
    assert _placeholder(_find(past.json(), c["id"])) == REMOVED and b"pending" not in past.content
    assert reader.get("/api/counts", keys=key).json()["counts"] == {key: 2}
    feed = reader.get(f"/t/{key}/feed.atom")
    assert feed.status_code == 200 and b"secret words" not in feed.content and b"its reply" in feed.content
    # its author and staff still see it as it is: pending, with its body and name
    for who in (guest, staff):
        mine = _find(who.comments(key), c["id"])
        assert mine["status"] == "pending" and mine["deleted"] is False and "secret words" in mine["body_html"]
        assert mine["author"]["name"] == "Ann"
        ancestor = who.get(f"/api/comments/{reply['id']}/context").json()["ancestors"][0]
        assert ancestor["status"] == "pending" and "secret words" in ancestor["body_html"]
    # approved, it is back for everyone, in full
    _moderate(staff, c["id"], "approve")
    back = _find(new_client().comments(key), c["id"])
    assert back["status"] == "published" and "secret words" in back["body_html"]


def test_a_rebuild_answers_the_public_what_the_live_projection_did(guest, staff, new_client, conf, key):
    """The placeholder is decided when a comment is shown, and the stored frames by the same code in a rebuild:
    after `projections rebuild` the public's answers and frames are the same."""
    from events.store import EventStore
    from projections.models import LiveFrame
    from projections.rebuild import rebuild, verify

    c, reply = _held_again(guest, new_client, conf, key, "reports")
    reader = new_client()

    def public() -> tuple:
        return (reader.get(f"/api/threads/{key}/comments").content,
                reader.get(f"/api/comments/{reply['id']}/context").content,
                list(LiveFrame.objects.filter(thread_key=key).order_by("position").values_list("position", "frame")))

    live = public()
    assert b"pending" not in live[0] + live[1] and not any('"pending"' in frame for _, frame in live[2])
    store = EventStore()
    rebuild(store)
    assert public() == live and verify(store) is None
