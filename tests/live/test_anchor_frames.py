"""Inline feedback on the live feed: frames of anchored comments carry the anchor, so a page moves the right badge."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from tests.conftest import unique_key
from tests.live.conftest import connect, frame, frames_until
from threadlog.commands import Actor, DeleteComment, PostComment, handle

pytestmark = pytest.mark.usefixtures("clean_publisher")

PASSAGE = {"exact": "opened its doors again", "prefix": "The Riverside public library ", "suffix": " on Saturday",
           "start": 30, "end": 52}


@database_sync_to_async
def post(key, body, *, anchor=None, parent_id=None):
    return handle(PostComment(thread=key, body=body, author_name="Writer", anchor=anchor, parent_id=parent_id),
                  Actor("guest:anchor-writer"))


@database_sync_to_async
def delete(comment_id):
    return handle(DeleteComment(comment_id=comment_id), Actor("guest:anchor-writer"))


async def test_frames_of_anchored_comments_carry_the_anchor():
    key = unique_key("wsa")
    await post(key, "opens the thread")
    comm = await connect(key)
    await frames_until(comm, "ready")
    top = await post(key, "on the passage", anchor=PASSAGE)
    got = await frame(comm)
    assert got["event"]["data"]["anchor"] == PASSAGE
    anchor = got["comment"]["anchor"]
    assert {k: anchor[k] for k in PASSAGE} == PASSAGE and len(anchor["id"]) == 16
    await post(key, "a reply", parent_id=top.comment_id)
    got = await frame(comm)
    assert "anchor" not in got["event"]["data"]
    assert got["comment"]["anchor"] == anchor  # inherited
    await post(key, "not anchored")
    got = await frame(comm)
    assert got["comment"]["anchor"] is None
    await delete(top.comment_id)
    got = await frame(comm)
    assert got["event"]["type"] == "CommentDeleted" and got["comment"]["anchor"]["id"] == anchor["id"]
    await comm.disconnect()
