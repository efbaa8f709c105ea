"""ThreadProjector: the thread tree, counts, votes and the live frame of every event.

`apply` holds the rules, once, against a `State` (memory or database); it is a pure function of the log.
"""
from __future__ import annotations

import json

import orjson
from typing import Any

from events.store import RecordedEvent
from events.people import ERASED, forget_erased
from events.types import public_data

from . import anchors, moderation
from .avatars import avatar_path
from .render import render as render_html
from .state import CommentRow, State, ThreadRow

DELETED_NAME = "[deleted]"
# A thread keeps the live frames of its last FRAMES_WINDOW to 2*FRAMES_WINDOW-1 events. A reader resuming
# from further back is sent `reset` (it refetches the thread), as it is anyway once it has missed more than
# RESUME_MAX_EVENTS (<= FRAMES_WINDOW). Pruning happens whenever a thread's stream_version reaches a multiple
# of the window, so which frames exist is a pure function of the log: a rebuild writes exactly these.
FRAMES_WINDOW = 1000
ERASED_BODY_HTML = "<p><em>[erased]</em></p>"


def author_name(state: State, data: dict[str, Any]) -> str:
    """The author's name: unsealed with the author's key (v2), plain (v1), or ERASED once the key is gone."""
    if data.get("sealed_author"):
        return state.keyring().name(data["author_id"], data["sealed_author"])
    if state.keyring().erased(data["author_id"]):  # a v1 row: plain text, erased all the same
        return ERASED
    return data.get("author_name") or ""


def comment_json(row: CommentRow, replies: list[dict[str, Any]] | None = None, *,
                 private: bool = False, staff: bool = False) -> dict[str, Any]:
    """A comment as the public API shows it. A comment that is not published reads, for the public, as removed
    (like a deleted one, with its status: `hidden` or `rejected`, never `pending`); `private` (its author, staff)
    shows it in full with its status. A spam-marked comment reads as `rejected`; `staff` also get `spam: true` on it
    (moderation.public_status)."""
    status = row.status
    gone = row.deleted or (status != moderation.PUBLISHED and not private)
    spam = status == moderation.SPAM
    out: dict[str, Any] = {
        "id": row.id,
        "parent_id": row.parent_id,
        "author": {"name": DELETED_NAME if gone else row.author_name},
        "body_html": "" if gone else row.body_html if row.body_html is not None else render_html(row.body, row.format),
        "created_at": row.created_at,
        "edited_at": row.edited_at,
        "deleted": gone,
        "status": moderation.public_status(status, private=private),
        "pinned": row.pinned > 0,
        "up": row.up,
        "down": row.down,
        "score": row.score,
        "reply_count": row.reply_count,
        "depth": row.depth,
        "format": row.format,
        "avatar": None if gone or row.author_name == ERASED else avatar_path(row.author_id),
        "anchor": anchors.as_json(row) if row.anchor else None,
        "replies": replies if replies is not None else [],
    }
    if spam and staff:
        out["spam"] = True
    return out


def _counts(thread: ThreadRow, comment: CommentRow | None, parent: CommentRow | None) -> dict[str, Any]:
    counts: dict[str, Any] = {"comment_count": thread.comment_count}
    if comment is not None:
        counts["comment"] = {
            "id": comment.id, "up": comment.up, "down": comment.down, "score": comment.score,
            "reply_count": comment.reply_count,
        }
    if parent is not None:
        counts["parent"] = {"id": parent.id, "reply_count": parent.reply_count}
    return counts


def apply(state: State, ev: RecordedEvent, *, frames: bool = True, render: bool = True,
          names: bool = True, held: bool = False) -> dict[str, Any] | None:
    """Apply one event; return the live frame it produces (None for streams that are not threads).

    Every event of a thread yields a frame, even one that changes nothing, so readers see stream_version
    advance by exactly one. Replays that only need the state (time travel) pass frames=False and
    render=False: body_html is then rendered when a comment is shown (None until then). A rebuild also passes
    names=False: a sealed author name is left None, opened later by its second process (projections.rebuild),
    unless this event's frame is built (a frame shows the name). `held`: the next event of the log is a
    CommentHeld (callers look one event ahead): a CommentPosted it holds is never public (projections.moderation).
    """
    data = ev.data
    kind = ev.type  # read once: compared down the chain below for every event of a rebuild
    if kind == "PersonErased":
        for row in state.comments_by_author(data["person"]):
            row.author_name = ERASED
            if data.get("bodies") == "hidden" and not row.deleted:
                row.body, row.body_html = "", ERASED_BODY_HTML
            state.put_comment(row)
        return None
    thread = state.thread(ev.stream)
    comment: CommentRow | None = None
    parent: CommentRow | None = None
    cid = data.get("comment_id") if kind != "CommentPosted" else None
    before = state.comment(cid) if cid else None
    was_public = moderation.is_public(before)
    if kind == "ThreadOpened":
        thread = ThreadRow(key=ev.stream, title=data.get("title", ""), opened_at=ev.occurred_at)
    elif thread is None:
        return None  # an event of a stream that is not a thread: not ours
    elif kind == "CommentPosted":
        parent_id = data.get("parent_id")
        parent = state.comment(parent_id) if parent_id else None
        comment_id, author_id, body, fmt = data["comment_id"], data["author_id"], data["body"], data.get("format", "plain")
        comment = CommentRow(  # positional, in CommentRow's order (a rebuild makes one per comment)
            comment_id, ev.stream, parent_id, parent.root_id if parent else comment_id,
            parent.depth + 1 if parent else 0, ev.position,
            author_name(state, data) if names or frames or not data.get("sealed_author") else None,
            author_id, body, render_html(body, fmt) if render else None, ev.occurred_at, format=fmt,
        )
        if parent is not None or "anchor" in data:
            anchors.on_posted(comment, data.get("anchor"), parent)
        if held:
            moderation.hold_new(state, comment)
        if comment.author_name is None:  # deferred (a rebuild opens it later); kept for a frame that needs it first
            state.defer_name(comment_id, author_id, data["sealed_author"])
        if state.keyring().bodies_hidden(author_id):  # erased, with their bodies: the name reads ERASED too
            comment.body, comment.body_html = "", ERASED_BODY_HTML
        if parent is not None and comment.shown:
            parent.children += 1
            parent.reply_count += 1
            state.put_comment(parent)
        thread.comment_count += comment.shown
        state.put_comment(comment)
    elif kind == "CommentEdited":
        comment = before
        if comment is not None and not comment.deleted and comment.body_html != ERASED_BODY_HTML:
            comment.body, comment.format = data["body"], data.get("format", "plain")
            comment.body_html = render_html(comment.body, comment.format) if render else None
            comment.edited_at = ev.recorded_at
            state.put_comment(comment)
    elif kind == "CommentDeleted":
        comment = before
        if comment is not None and not comment.deleted:
            comment.deleted = True
            comment.body = ""
            comment.body_html = ""
            if comment.parent_id and was_public:
                parent = state.comment(comment.parent_id)
                if parent is not None:
                    parent.reply_count -= 1
                    state.put_comment(parent)
            thread.comment_count -= was_public
            state.put_comment(comment)
    elif kind == "VotesImported":  # a source's vote totals: added to the readers' own votes (events.imported)
        for comment_id, up, down in data["votes"]:
            voted = state.comment(comment_id)
            if voted is not None:
                voted.up += int(up)
                voted.down += int(down)
                voted.score = voted.up - voted.down
                state.put_comment(voted)
    elif kind == "VoteCast":
        comment = before
        if comment is not None:
            old, new = state.vote(comment.id, data["voter"]), int(data["value"])
            comment.up += (new == 1) - (old == 1)
            comment.down += (new == -1) - (old == -1)
            comment.score = comment.up - comment.down
            state.put_vote(comment.id, data["voter"], new)
            state.put_comment(comment)
    elif kind in moderation.MODERATION_TYPES:
        comment, parent = moderation.apply(state, thread, ev)
    thread.stream_version = ev.stream_version
    thread.last_position = ev.position
    if ev.stream_version % FRAMES_WINDOW == 0:
        thread.frames_pruned_through, thread.frames_mark = thread.frames_mark, ev.position
    state.put_thread(thread)
    if not frames:
        return None
    if ev.type in moderation.PRIVATE_EVENTS or (
            comment is not None and not was_public and not moderation.is_public(comment)):
        return moderation.withheld_frame(ev, thread)  # about a comment the public cannot see
    # Public fields only, and nothing an erasure hid (v1 plain-text names, hidden bodies) in the feed either.
    if kind == "CommentHeld":  # a published comment held again: that it left, not why (reports, an edit's
        event_data = {"comment_id": data["comment_id"]}  # links or words: staff's, as in GET /api/events)
    else:
        event_data = public_data(kind, forget_erased(dict(data), state.keyring()))
    frame: dict[str, Any] = {
        "type": "event",
        "position": ev.position,
        "stream_version": ev.stream_version,
        "event": {"type": ev.type, "data": event_data},
        "counts": _counts(thread, comment, parent),
    }
    if comment is not None and ev.type != "VoteCast":
        if comment.author_name is None:  # posted before the frames a rebuild builds, its name not opened yet
            comment.author_name = state.deferred_name(comment.id)
        frame["comment"] = comment_json(comment)
    if ev.type in moderation.THREAD_EVENTS:
        frame["thread"] = {"closed": thread.closed, "premoderated": thread.premoderated}
    return frame


def frames_cut(stream_version: int) -> int:
    """The stream_version at and below which a thread at `stream_version` keeps no frames."""
    return max(0, (stream_version // FRAMES_WINDOW - 1) * FRAMES_WINDOW)


def encode_frame(frame: dict[str, Any]) -> str:
    """Once per event, by the projector; the live path and a rebuild use this same encoder (orjson, sorted)."""
    return orjson.dumps(frame, option=orjson.OPT_SORT_KEYS).decode()


def decode_frame(text: str) -> dict[str, Any]:
    return json.loads(text)
