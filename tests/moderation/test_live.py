"""Moderation over the WebSocket: a public reader never receives a held comment's body, name, id or a count
change; approving delivers it live like a new comment; removing it arrives as a removal; resumes are alike."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from tests.conftest import unique_key
from tests.live.conftest import clean_publisher, connect, frame, frames_until, post  # noqa: F401

pytestmark = pytest.mark.usefixtures("clean_publisher")

SECRET = "the secret body"


@database_sync_to_async
def post_held(key: str, reason: str = "all", actor: str = "guest:held-writer"):
    from django.conf import settings

    from threadlog.commands import Actor, PostComment, handle

    old = settings.THREADLOG["MODERATION"]
    settings.THREADLOG["MODERATION"] = reason
    try:
        return handle(PostComment(thread=key, body=SECRET, author_name="Secret Name"), Actor(actor))
    finally:
        settings.THREADLOG["MODERATION"] = old


@database_sync_to_async
def moderate(comment_id: str, action: str):
    from threadlog.commands import Actor, handle
    from threadlog.moderation.commands import ModerateComment

    return handle(ModerateComment(comment_id=comment_id, action=action, reason="test"), Actor("user:1", is_staff=True))


def _leaks(frames: list[dict], comment_id: str) -> bool:
    text = json.dumps(frames)
    return SECRET in text or "Secret Name" in text or comment_id in text


async def test_public_reader_never_receives_a_held_comment_then_gets_it_on_approval():
    key = unique_key("mod")
    first = await post(key, "public")
    comm = await connect(key)
    await frames_until(comm, "ready")
    held = await post_held(key)
    posted, hold = await frame(comm), await frame(comm)
    assert [posted["stream_version"], hold["stream_version"]] == [3, 4]  # no gap: versions still advance
    assert posted["event"]["type"] == hold["event"]["type"] == "Withheld"
    assert posted["counts"] == hold["counts"] == {"comment_count": 1}
    assert not _leaks([posted, hold], held.comment_id)

    approved = await moderate(held.comment_id, "approve")
    live = await frame(comm)
    assert live["position"] == approved.position and live["event"]["type"] == "CommentApproved"
    assert live["comment"]["id"] == held.comment_id and SECRET in live["comment"]["body_html"]
    assert live["comment"]["author"]["name"] == "Secret Name" and live["comment"]["status"] == "published"
    assert live["counts"]["comment_count"] == 2
    assert "moderator" not in live["event"]["data"]

    hidden = await moderate(first.comment_id, "hide")
    gone = await frame(comm)
    assert gone["position"] == hidden.position and gone["comment"]["deleted"] is True
    assert gone["comment"]["body_html"] == "" and gone["counts"]["comment_count"] == 1
    await comm.disconnect()


async def test_resume_and_rejection_never_replay_held_content():
    key = unique_key("mod")
    await post(key, "public")
    held = await post_held(key)
    await moderate(held.comment_id, "reject")
    comm = await connect(key, "?after=0")
    got = await frames_until(comm, "ready")
    assert not _leaks(got, held.comment_id)
    assert [f["stream_version"] for f in got[:-1]] == [1, 2, 3, 4, 5]
    assert got[-2]["counts"]["comment_count"] == 1
    await comm.disconnect()


async def test_marked_spam_arrives_as_rejected_live_and_on_resume():
    """The contract's four statuses in frames too: a spam-marked comment's frame reads `rejected` (the event keeps
    its name)."""
    key = unique_key("mod")
    c = await post(key, "soon spam")
    comm = await connect(key)
    await frames_until(comm, "ready")
    await moderate(c.comment_id, "spam")
    live = await frame(comm)
    assert live["event"]["type"] == "CommentMarkedSpam"
    assert live["comment"]["status"] == "rejected" and live["comment"]["deleted"] is True
    assert "spam" not in live["comment"]
    await comm.disconnect()
    comm = await connect(key, "?after=0")
    got = await frames_until(comm, "ready")
    assert [f["comment"]["status"] for f in got if "comment" in f] == ["published", "rejected"]
    await comm.disconnect()


async def test_reports_are_not_pushed_to_readers():
    from threadlog.commands import Actor, handle
    from threadlog.moderation.commands import ReportComment

    key = unique_key("mod")
    c = await post(key, "reported")
    comm = await connect(key)
    await frames_until(comm, "ready")
    await database_sync_to_async(handle)(ReportComment(comment_id=c.comment_id, reason="abuse", note="my note"),
                                         Actor("guest:reporter"))
    got = await frame(comm)
    assert got["event"]["type"] == "Withheld" and "my note" not in json.dumps(got)
    await comm.disconnect()


async def test_moderation_socket_is_staff_only_and_rings_on_changes():
    from channels.testing import WebsocketCommunicator

    from tests.live.conftest import asgi_app

    comm = WebsocketCommunicator(asgi_app(), "/ws/moderation/")
    connected, _ = await comm.connect(timeout=5)
    assert connected
    msg = json.loads(await comm.receive_from(timeout=5))
    assert msg["type"] == "error" and msg["code"] == "staff_only"
    await comm.disconnect()

    cookie = await database_sync_to_async(_staff_session_cookie)()
    comm = WebsocketCommunicator(asgi_app(), "/ws/moderation/", headers=[(b"cookie", cookie.encode())])
    await comm.connect(timeout=5)
    assert json.loads(await comm.receive_from(timeout=5)) == {"type": "ready"}
    held = await post_held(unique_key("mod"))
    msg = json.loads(await comm.receive_from(timeout=5))
    assert msg == {"type": "changed", "position": held.position}
    await comm.disconnect()


def _staff_session_cookie() -> str:
    from django.test import Client

    from .conftest import make_staff

    username, password = make_staff()
    client = Client()
    assert client.login(username=username, password=password)
    return f"sessionid={client.cookies['sessionid'].value}"


@database_sync_to_async
def edit(comment_id: str, body: str, actor: str):
    from threadlog.commands import Actor, EditComment, handle

    return handle(EditComment(comment_id=comment_id, body=body), Actor(actor))


async def test_an_edit_that_adds_links_holds_the_comment_and_the_public_never_sees_the_new_text():
    """The oldest spam trick: post something harmless, edit the links in once it is published."""
    key = unique_key("mod")
    writer = "guest:editing-spammer"
    harmless = await post(key, "a harmless first comment", actor=writer)
    comm = await connect(key)
    await frames_until(comm, "ready")
    spam = f"{SECRET} http://a.example http://b.example http://c.example"
    held = await edit(harmless.comment_id, spam, writer)
    got = [await frame(comm), await frame(comm)]
    assert [f["position"] for f in got] == [held.position - 1, held.position]  # CommentHeld, then the edit
    assert SECRET not in json.dumps(got) and "a.example" not in json.dumps(got)
    assert got[0]["comment"]["deleted"] is True and got[0]["counts"]["comment_count"] == 0  # gone for the public
    assert got[1]["event"]["type"] == "Withheld"
    typo = await edit(harmless.comment_id, spam + ".", writer)  # still pending: not held twice
    assert [ev.type for ev in typo.recorded] == ["CommentEdited"]
    approved = await moderate(harmless.comment_id, "approve")
    live = await frame(comm)
    while live["position"] != approved.position:
        live = await frame(comm)
    assert SECRET in live["comment"]["body_html"] and live["comment"]["status"] == "published"
    fixed = await edit(harmless.comment_id, spam + "!", writer)  # approved with its links: a typo is not held
    assert [ev.type for ev in fixed.recorded] == ["CommentEdited"]
    await comm.disconnect()


async def test_a_comment_held_again_by_reports_arrives_as_a_removed_placeholder_live_and_on_resume():
    """A published comment with a reply, held again by readers' reports: the public's frame carries the placeholder
    of any comment a moderator took away (status `hidden`, no body, no name), not `pending`, and not why."""
    from django.conf import settings

    from threadlog.commands import Actor, handle
    from threadlog.moderation.commands import ReportComment

    key = unique_key("mod")
    c = await post(key, SECRET, actor="guest:held-again")
    await post(key, "a reply keeps it listed", parent_id=c.comment_id, actor="guest:replier")
    comm = await connect(key)
    await frames_until(comm, "ready")
    old = settings.THREADLOG["REPORTS_TO_HOLD"]
    settings.THREADLOG["REPORTS_TO_HOLD"] = 2
    try:
        for reporter in ("guest:reporter-1", "guest:reporter-2"):
            held = await database_sync_to_async(handle)(ReportComment(comment_id=c.comment_id, reason="abuse"),
                                                        Actor(reporter))
    finally:
        settings.THREADLOG["REPORTS_TO_HOLD"] = old
    assert [ev.type for ev in held.recorded] == ["CommentReported", "CommentHeld"]
    got = [await frame(comm) for _ in range(3)]
    assert [f["event"]["type"] for f in got] == ["Withheld", "Withheld", "CommentHeld"]
    live = got[-1]
    assert live["comment"]["id"] == c.comment_id and live["event"]["data"] == {"comment_id": c.comment_id}
    assert {k: live["comment"][k] for k in ("deleted", "status", "body_html", "author", "avatar")} == {
        "deleted": True, "status": "hidden", "body_html": "", "author": {"name": "[deleted]"}, "avatar": None}
    assert live["counts"]["comment_count"] == 1
    assert "pending" not in json.dumps(got) and "reports" not in json.dumps(got) and SECRET not in json.dumps(got)
    await comm.disconnect()
    comm = await connect(key, "?after=0")
    replayed = await frames_until(comm, "ready")
    assert replayed[-2] == live and "pending" not in json.dumps(replayed)
    await comm.disconnect()
