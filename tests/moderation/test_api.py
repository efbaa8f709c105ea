"""Moderation through HTTP: sessions, holding, privacy of held comments, decisions, pins, reports, bans, threads."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.conftest import unique_key

from .conftest import ApiClient, assert_error, head, make_staff


def _events(client: ApiClient, key: str) -> list[dict]:
    return client.get("/api/events", thread=key, limit=1000).json()["events"]


def _all_ids(page: dict) -> list[str]:
    out, stack = [], list(page["comments"])
    while stack:
        c = stack.pop(0)
        out.append(c["id"])
        stack.extend(c["replies"])
    return out


def _moderate(staff: ApiClient, comment_id: str, action: str, reason: str = ""):
    return staff.post(f"/api/comments/{comment_id}/moderation", {"action": action, "reason": reason})


# --- sessions -------------------------------------------------------------------------------------------


def test_session_sign_in_who_and_sign_out(live_db):
    client = ApiClient()
    username, password = make_staff()
    assert client.get("/api/session").json() == {"user": None}
    response = client.post("/api/session", {"username": username, "password": password})
    assert response.status_code == 200
    assert response.json() == {"user": {"name": username, "staff": True}}
    assert "sessionid" in response.cookies
    assert client.get("/api/session").json() == {"user": {"name": username, "staff": True}}
    assert client.delete("/api/session").json() == {"user": None}
    assert client.get("/api/session").json() == {"user": None}


def test_wrong_password_is_401_then_throttled_per_account_from_one_ip(live_db, signin):
    signin(SIGNIN_MAX_FAILURES=3, SIGNIN_ACCOUNT_MAX_FAILURES=100)
    username, password = make_staff()
    guesser = ApiClient()
    for _ in range(3):
        assert_error(guesser.post("/api/session", {"username": username, "password": "nope"},
                                  REMOTE_ADDR="10.1.0.1"), 401, "invalid_credentials")
    response = guesser.post("/api/session", {"username": username, "password": password}, REMOTE_ADDR="10.1.0.1")
    assert response.status_code == 429 and response.json()["error"]["code"] == "too_many_attempts"
    assert int(response["Retry-After"]) >= 1
    # the guesser's address is locked out of the account, the account's owner is not
    owner = ApiClient()
    response = owner.post("/api/session", {"username": username, "password": password}, REMOTE_ADDR="10.1.1.1")
    assert response.status_code == 200 and response.json()["user"]["name"] == username


def test_failures_from_many_addresses_lock_the_account_except_for_a_browser_that_signed_in_before(live_db, signin):
    signin(SIGNIN_MAX_FAILURES=3, SIGNIN_ACCOUNT_MAX_FAILURES=4)
    username, password = make_staff()
    known = ApiClient()
    assert known.post("/api/session", {"username": username, "password": password},
                      REMOTE_ADDR="10.3.0.1").status_code == 200
    assert "tl_device" in known.client.cookies
    known.delete("/api/session")
    for i in range(4):  # from four addresses: none reaches its own limit, the account reaches its own
        assert_error(ApiClient().post("/api/session", {"username": username, "password": "nope"},
                                      REMOTE_ADDR=f"10.3.1.{i}"), 401, "invalid_credentials")
    response = ApiClient().post("/api/session", {"username": username, "password": password}, REMOTE_ADDR="10.3.2.1")
    assert response.status_code == 429 and response.json()["error"]["code"] == "too_many_attempts"
    response = known.post("/api/session", {"username": username, "password": password}, REMOTE_ADDR="10.3.2.2")
    assert response.status_code == 200 and response.json()["user"]["name"] == username


def test_sign_in_throttled_per_ip_across_accounts(live_db, signin):
    signin(SIGNIN_IP_MAX_FAILURES=2, SIGNIN_MAX_FAILURES=100)
    client = ApiClient()
    addr = f"10.2.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    for i in range(2):
        assert_error(client.post("/api/session", {"username": f"nobody-{unique_key()}", "password": "x"},
                                 REMOTE_ADDR=addr), 401)
    response = client.post("/api/session", {"username": f"nobody-{unique_key()}", "password": "x"}, REMOTE_ADDR=addr)
    assert response.status_code == 429 and response.json()["error"]["code"] == "too_many_attempts"


def test_createsuperuser_noinput_makes_staff_who_can_sign_in(live_db, monkeypatch, capsys):
    from threadlog.cli import main

    username = f"boss-{unique_key()}"
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", username)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "pw-123456")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "boss@example.org")
    assert main(["createsuperuser", "--noinput"]) == 0
    client = ApiClient()
    assert client.post("/api/session", {"username": username, "password": "pw-123456"}).json()["user"]["staff"]
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME")
    assert main(["createsuperuser", "--noinput"]) == 1


# --- holding and privacy --------------------------------------------------------------------------------


def test_default_off_publishes_and_every_comment_has_status(guest, key):
    c = guest.comment(key, "plain")
    assert c["status"] == "published" and c["pinned"] is False
    detail = guest.get(f"/api/threads/{key}").json()
    assert detail["closed"] is False and detail["premoderated"] is False and detail["pinned"] == []


def test_held_comment_is_private_to_its_author_and_staff(guest, staff, new_client, conf, key):
    conf(MODERATION="all")
    guest.comment(key, "before", name="Early")  # opens the thread (held too: all)
    other = new_client()
    held = guest.comment(key, "a secret body", name="Hidden Name")
    assert held["status"] == "pending" and held["body_html"]  # the author sees it
    public = other.comments(key)
    assert held["id"] not in _all_ids(public) and public["comment_count"] == 0
    assert other.get(f"/api/threads/{key}").json()["comment_count"] == 0
    text = json.dumps(_events(other, key))
    assert "a secret body" not in text and "Hidden Name" not in text
    mine = guest.comments(key)
    assert held["id"] in _all_ids(mine)
    assert next(c for c in mine["comments"] if c["id"] == held["id"])["status"] == "pending"
    theirs = staff.comments(key)
    assert held["id"] in _all_ids(theirs)
    # time travel shows nothing held either
    at = other.comments(key, at=head())
    assert held["id"] not in _all_ids(at)


def test_approve_publishes_as_if_just_posted(guest, staff, new_client, conf, key):
    guest.comment(key, "first, published")
    conf(MODERATION="all")
    held = new_client().comment(key, "held one")
    later = staff.comment(key, "staff are never held")
    assert later["status"] == "published"
    reader = new_client()
    assert reader.comments(key)["comment_count"] == 2
    response = _moderate(staff, held["id"], "approve", "fine")
    assert response.status_code == 200
    body = response.json()
    assert body["comment"]["status"] == "published" and body["position"] == head()
    page = reader.comments(key, sort="oldest")
    assert _all_ids(page)[-1] == held["id"] and page["comment_count"] == 3  # at the end: as if just posted
    assert reader.comments(key, sort="newest")["comments"][0]["id"] == held["id"]
    events = _events(reader, key)
    assert any(e["type"] == "CommentPosted" and e["data"].get("body") == "held one" for e in events)
    approved = [e for e in events if e["type"] == "CommentApproved"][0]
    assert approved["data"] == {"comment_id": held["id"], "reason": "fine"}  # the moderator is not public


def test_noop_action_appends_nothing(guest, staff, key):
    c = guest.comment(key)
    before = head()
    response = _moderate(staff, c["id"], "approve")
    assert response.status_code == 200 and head() == before


def test_moderation_is_staff_only(guest, key):
    c = guest.comment(key)
    before = head()
    assert_error(_moderate(guest, c["id"], "hide"), 403, "staff_only")
    assert_error(guest.post(f"/api/threads/{key}/moderation", {"action": "close"}), 403, "staff_only")
    assert_error(guest.get("/api/moderation/queue"), 403, "staff_only")
    assert_error(guest.post("/api/bans", {"comment_id": c["id"], "scope": "person"}), 403, "staff_only")
    assert head() == before


def test_invalid_action_is_422(staff, guest, key):
    c = guest.comment(key)
    assert_error(_moderate(staff, c["id"], "explode"), 422, "invalid_action")


@pytest.mark.parametrize("setting,body,reason", [
    ({"MODERATION_MAX_LINKS": 2}, "see http://a.example http://b.example http://c.example", "links"),
    ({"MODERATION_WORDS": ["viagra", "casino"]}, "Best CASINO in town", "words"),
])
def test_links_and_words_hold(guest, staff, conf, key, setting, body, reason):
    conf(**setting)
    guest.comment(key, "fine words, two links http://a.example http://b.example")
    held = guest.comment(key, body)
    assert held["status"] == "pending"
    item = [i for i in staff.get("/api/moderation/queue", tab="pending", thread=key).json()["items"]]
    assert [i["held_reason"] for i in item] == [reason]


def test_words_match_whole_words_only(guest, conf, key):
    conf(MODERATION_WORDS=["ass"])
    assert guest.comment(key, "a classic passage")["status"] == "published"


def test_first_comment_waits_until_one_is_approved(new_client, staff, conf, key):
    conf(MODERATION="first")
    writer = new_client()
    first = writer.comment(key, "my first")
    assert first["status"] == "pending"
    assert writer.comment(key, "my second")["status"] == "pending"
    assert _moderate(staff, first["id"], "approve").status_code == 200
    assert writer.comment(key, "my third")["status"] == "published"


def test_premoderated_thread_holds_everything_but_staff(guest, staff, conf, key):
    guest.comment(key, "open")
    response = staff.post(f"/api/threads/{key}/moderation", {"action": "premoderate"})
    assert response.status_code == 200 and response.json()["thread"]["premoderated"] is True
    assert guest.comment(key, "now held")["status"] == "pending"
    assert staff.comment(key, "staff")["status"] == "published"
    staff.post(f"/api/threads/{key}/moderation", {"action": "unpremoderate"})
    assert guest.comment(key, "free again")["status"] == "published"


def test_closed_thread_refuses_comments_keeps_votes(guest, staff, new_client, key):
    c = guest.comment(key)
    response = staff.post(f"/api/threads/{key}/moderation", {"action": "close", "reason": "off topic"})
    assert response.json()["thread"]["closed"] is True
    assert guest.get(f"/api/threads/{key}").json()["closed"] is True
    before = head()
    r = guest.post(f"/api/threads/{key}/comments", {"body": "more", "author_name": "Ann"})
    assert_error(r, 409, "thread_closed")
    r = guest.post(f"/api/threads/{key}/comments", {"body": "reply", "author_name": "Ann", "parent_id": c["id"]})
    assert_error(r, 409, "thread_closed")
    assert head() == before
    assert new_client().vote(c["id"], 1)["up"] == 1
    staff.post(f"/api/threads/{key}/moderation", {"action": "reopen"})
    guest.comment(key, "reopened")


def test_hidden_comment_leaves_as_removed_with_replies_kept(guest, staff, new_client, key):
    parent = guest.comment(key, "parent text", name="Pat")
    reply = new_client().comment(key, "a reply", parent_id=parent["id"])
    reader = new_client()
    assert reader.comments(key)["comment_count"] == 2
    assert _moderate(staff, parent["id"], "hide", "abuse").status_code == 200
    page = reader.comments(key)
    top = page["comments"][0]
    assert top["id"] == parent["id"] and top["deleted"] is True and top["status"] == "hidden"
    assert top["body_html"] == "" and top["author"]["name"] != "Pat"
    assert top["replies"][0]["id"] == reply["id"]
    assert page["comment_count"] == 1
    assert "parent text" not in json.dumps(_events(reader, key))
    # reject a leaf: gone from the list
    _moderate(staff, reply["id"], "reject")
    assert reader.comments(key)["comment_count"] == 0
    _moderate(staff, parent["id"], "restore")
    assert reader.comments(key)["comments"][0]["status"] == "published"
    assert reader.comments(key)["comment_count"] == 1


def test_pins_first_in_every_sort_in_pin_order_max_three(guest, staff, conf, key):
    conf(MAX_PINNED=2)
    a, b, c = (guest.comment(key, f"c{i}") for i in range(3))
    reply = guest.comment(key, "r", parent_id=a["id"])
    assert _moderate(staff, c["id"], "pin").json()["comment"]["pinned"] is True
    _moderate(staff, a["id"], "pin")
    assert_error(_moderate(staff, b["id"], "pin"), 409, "too_many_pinned")
    assert_error(_moderate(staff, reply["id"], "pin"), 409, "cannot_pin_reply")
    for sort in ("oldest", "newest", "most_voted", "best", "hot"):
        ids = [x["id"] for x in guest.comments(key, sort=sort)["comments"]]
        assert ids[:2] == [c["id"], a["id"]], sort
        assert sorted(ids) == sorted([a["id"], b["id"], c["id"]])
    assert guest.get(f"/api/threads/{key}").json()["pinned"] == [c["id"], a["id"]]
    _moderate(staff, c["id"], "unpin")
    assert guest.get(f"/api/threads/{key}").json()["pinned"] == [a["id"]]


def test_reports_one_per_reader_and_hold_at_threshold(guest, staff, new_client, conf, key):
    conf(REPORTS_TO_HOLD=2)
    c = guest.comment(key, "rude words")
    r1 = new_client()
    assert r1.post(f"/api/comments/{c['id']}/reports", {"reason": "abuse"}).status_code == 202
    before = head()
    assert r1.post(f"/api/comments/{c['id']}/reports", {"reason": "abuse"}).status_code == 200
    assert head() == before
    assert_error(r1.post(f"/api/comments/{c['id']}/reports", {"reason": "bad"}), 422, "invalid_reason")
    reported = staff.get("/api/moderation/queue", tab="reported", thread=key).json()["items"]
    assert reported[0]["reports"] == 1 and reported[0]["report_reasons"] == {"abuse": 1}
    assert new_client().post(f"/api/comments/{c['id']}/reports", {"reason": "spam"}).status_code == 202
    page = guest.comments(key)
    assert page["comment_count"] == 0
    types = [e["type"] for e in _events(guest, key)]
    assert types[-2:] == ["CommentReported", "CommentHeld"]
    pending = staff.get("/api/moderation/queue", tab="pending", thread=key).json()["items"]
    assert pending[0]["comment"]["id"] == c["id"] and pending[0]["held_reason"] == "reports"
    assert _moderate(staff, c["id"], "approve").status_code == 200
    assert guest.comments(key)["comment_count"] == 1


def test_reports_are_rate_limited(guest, new_client, conf, key):
    conf(RATE_REPORT=(2, 60), RATE_LIMITS=True)
    comments = [guest.comment(key, f"c{i}") for i in range(3)]
    reader = new_client()
    for c in comments[:2]:
        assert reader.post(f"/api/comments/{c['id']}/reports", {"reason": "spam"}).status_code == 202
    assert_error(reader.post(f"/api/comments/{comments[2]['id']}/reports", {"reason": "spam"}), 429, "rate_limited")


def test_ban_refuses_posts_votes_edits_reports_and_appends_nothing(guest, staff, new_client, key):
    c = guest.comment(key, "troll")
    other = new_client().comment(key, "victim")
    response = staff.post("/api/bans", {"comment_id": c["id"], "scope": "person", "reason": "trolling",
                                        "duration_seconds": 3600})
    assert response.status_code == 201
    ban = response.json()["ban"]
    assert ban["scope"] == "person" and ban["until"] and ban["reason"] == "trolling" and ban["id"]
    before = head()
    error = assert_error(guest.post(f"/api/threads/{key}/comments", {"body": "again", "author_name": "T"}), 403,
                         "banned")
    assert error["until"] == ban["until"]
    assert_error(guest.post(f"/api/comments/{other['id']}/vote", {"value": 1}), 403, "banned")
    assert_error(guest.patch(f"/api/comments/{c['id']}", {"body": "edited"}), 403, "banned")
    assert_error(guest.post(f"/api/comments/{other['id']}/reports", {"reason": "spam"}), 403, "banned")
    assert head() == before
    assert staff.delete(f"/api/bans/{ban['id']}").status_code == 200
    guest.comment(key, "allowed again")


def test_ban_by_ip_and_hide_comments(guest, staff, new_client, key):
    c1 = guest.comment(key, "one")
    guest.comment(unique_key(), "two elsewhere")
    r = staff.post("/api/bans", {"comment_id": c1["id"], "scope": "person", "hide_comments": True, "reason": "x"})
    assert r.status_code == 201
    assert new_client().comments(key)["comment_count"] == 0
    ipban = staff.post("/api/bans", {"comment_id": c1["id"], "scope": "ip", "reason": "same network"})
    assert ipban.status_code == 201 and ipban.json()["ban"]["scope"] == "ip"
    # another guest from the same address (the test client's) is refused too
    assert_error(new_client().post(f"/api/threads/{key}/comments", {"body": "hi", "author_name": "N"}), 403, "banned")
    staff.delete(f"/api/bans/{ipban.json()['ban']['id']}")


def test_ban_ends_by_itself(guest, staff, key, monkeypatch):
    from threadlog.moderation import rules

    c = guest.comment(key)
    staff.post("/api/bans", {"comment_id": c["id"], "scope": "person", "duration_seconds": 60})
    assert_error(guest.post(f"/api/threads/{key}/comments", {"body": "x", "author_name": "A"}), 403, "banned")
    monkeypatch.setattr(rules, "now_iso", lambda: "2999-01-01T00:00:00Z")
    guest.comment(key, "the ban has ended")


def test_honeypot_holds_quietly_as_spam(guest, staff, key):
    r = guest.post(f"/api/threads/{key}/comments", {"body": "buy now", "author_name": "Bot", "website": "http://x"})
    assert r.status_code == 201 and r.json()["comment"]["status"] == "pending"
    items = staff.get("/api/moderation/queue", tab="pending", thread=key).json()["items"]
    assert items[0]["held_reason"] == "spam"


def test_duplicate_comment_is_409(guest, key, conf):
    conf(DUPLICATE_SECONDS=600)
    guest.comment(key, "same text")
    before = head()
    assert_error(guest.post(f"/api/threads/{key}/comments", {"body": "same text", "author_name": "Ann"}), 409,
                 "duplicate_comment")
    assert head() == before
    conf(DUPLICATE_SECONDS=0)
    guest.comment(key, "same text")


def test_duplicate_rule_compares_whole_bodies(guest, key, conf):
    """Long bodies that share their end or their start are not duplicates (the rule's index holds a body's end);
    the same long body, non-ASCII included, is."""
    conf(DUPLICATE_SECONDS=600)
    ending = " — signed, a regular reader of this blog since 2009. Ünïcödé ✓" * 2
    first = guest.comment(key, "First thought." + ending)
    assert first["status"] == "published"
    guest.comment(key, "Second thought." + ending)  # the same end (a signature): not the same comment
    guest.comment(key, "First thought." + ending + " PS.")  # the same start
    assert_error(guest.post(f"/api/threads/{key}/comments", {"body": "First thought." + ending,
                                                              "author_name": "Ann"}), 409, "duplicate_comment")
    other = guest.__class__()
    other.comment(key, "First thought." + ending)  # someone else may say the same


def test_queue_tabs_context_record_and_cursor(guest, staff, new_client, conf, key):
    parent = guest.comment(key, "the parent")
    conf(MODERATION="all")
    writer = new_client()
    held = [writer.comment(key, f"held {i}", parent_id=parent["id"] if i == 0 else None) for i in range(3)]
    page = staff.get("/api/moderation/queue", tab="pending", thread=key).json()
    assert [i["comment"]["id"] for i in page["items"]] == [h["id"] for h in held]
    first = page["items"][0]
    assert first["parent"]["id"] == parent["id"] and first["comment"]["body_html"]
    assert first["author"]["record"]["pending"] == 3 and len(first["author"]["recent"]) == 2
    assert page["counts"]["pending"] == 3
    _moderate(staff, held[0]["id"], "approve")
    _moderate(staff, held[1]["id"], "spam")
    page = staff.get("/api/moderation/queue", tab="pending", thread=key).json()
    assert [i["comment"]["id"] for i in page["items"]] == [held[2]["id"]]
    record = page["items"][0]["author"]["record"]
    assert record["approved"] == 1 and record["rejected"] == 1
    rejected = staff.get("/api/moderation/queue", tab="rejected", thread=key).json()["items"]
    assert rejected[0]["comment"]["id"] == held[1]["id"] and rejected[0]["decision"] == "CommentMarkedSpam"
    recent = staff.get("/api/moderation/queue", tab="recent", thread=key).json()
    assert len(recent["items"]) == 4
    assert_error(staff.get("/api/moderation/queue", tab="nope"), 400, "invalid_tab")


def test_moderation_page_redirects_others_to_sign_in(guest, staff):
    r = guest.client.get("/moderation")
    assert r.status_code == 302 and "login" in r["Location"]
    assert staff.client.get("/moderation").status_code == 200


def test_audit_log_lists_moderation_with_moderator_and_reason(guest, staff, key):
    from threadlog.cli import main

    c = guest.comment(key)
    _moderate(staff, c["id"], "hide", "rude")
    import io
    import contextlib

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["audit", "log", "--thread", key, "--type", "CommentHidden", "--json"]) == 0
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(lines) == 1 and lines[0]["data"]["reason"] == "rude" and lines[0]["data"]["moderator"].startswith("user:")


def test_audit_comment_history_names_the_moderator_and_reason(guest, staff, key):
    from events.audit import comment_history
    from events.store import EventStore

    c = guest.comment(key)
    _moderate(staff, c["id"], "hide", "insults")
    _moderate(staff, c["id"], "restore", "appeal upheld")
    summaries = [e.summary for e in comment_history(EventStore(), c["id"])]
    assert summaries[-2].startswith("CommentHidden by user:") and summaries[-2].endswith(": insults")
    assert summaries[-1].endswith(": appeal upheld")


def test_ban_retried_with_the_same_idempotency_key_answers_the_same_ban(guest, staff, key):
    c = guest.comment(key)
    payload = {"comment_id": c["id"], "scope": "person", "reason": "once"}
    first = staff.post("/api/bans", payload, HTTP_IDEMPOTENCY_KEY="ban-1")
    before = head()
    again = staff.post("/api/bans", payload, HTTP_IDEMPOTENCY_KEY="ban-1")
    assert again.status_code == 201 and again.json()["ban"] == first.json()["ban"] and head() == before


@pytest.mark.parametrize("rebuild", ["online", "offline"])
def test_duplicate_rule_follows_edits_and_rebuilds(guest, key, conf, rebuild):
    """The rule's key (dup_key, a hash of the author and the body) follows the body: an edit, a deletion and a
    rebuild leave every row's key equal to projections.duplicates.duplicate_key of its author and body."""
    from django.db import connection

    from events.store import EventStore
    from projections.duplicates import duplicate_key
    from projections.online import rebuild_online
    from projections.rebuild import rebuild as rebuild_offline

    conf(DUPLICATE_SECONDS=600)
    first = guest.comment(key, "before the edit")
    assert guest.patch(f"/api/comments/{first['id']}", {"body": "after the edit"}).status_code == 200
    assert_error(guest.post(f"/api/threads/{key}/comments", {"body": "after the edit", "author_name": "Ann"}), 409,
                 "duplicate_comment")
    guest.comment(key, "before the edit")  # no longer a comment of theirs

    def keys_hold():
        with connection.cursor() as cur:
            cur.execute("SELECT author_id, body, dup_key FROM threadlog_comment")
            rows = cur.fetchall()
        assert rows and all(k == duplicate_key(a, b) for a, b, k in rows)

    keys_hold()
    (rebuild_online if rebuild == "online" else rebuild_offline)(EventStore())
    keys_hold()
    assert_error(guest.post(f"/api/threads/{key}/comments", {"body": "after the edit", "author_name": "Ann"}), 409,
                 "duplicate_comment")
