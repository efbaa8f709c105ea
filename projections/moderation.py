"""A comment's moderation status in the thread read model: who may see it, and what the public counts.

Statuses: `published` (public), `pending` (waits for a moderator), `rejected`, `hidden`, `spam`. `spam` is stored
(the moderation rules and the queue tell it apart) but answered as `rejected` (`public_status`): the contract has
four statuses, and a spam-marked comment is a rejected one whose reason is spam. A `pending` comment is seen only by
its author and staff; the public meets one only as the placeholder that keeps the replies of a comment held again
(reports, an edit), and that placeholder reads `hidden`, like any comment a moderator has taken away. Only a
published, undeleted comment is public: it alone counts in `comment_count` and its parent's `reply_count`.
A comment enters its parent's `children` (which keeps a removed parent visible as a tombstone) the first time
it becomes public (`shown`); a held comment enters the thread when it is approved, at the approval's place and
time, as if just posted. The thread projector (projections.thread) calls `apply` for the moderation events.
"""
from __future__ import annotations

from typing import Any

from events.moderation import HOLDS_OF_PUBLISHED, MODERATION_TYPES
from events.store import RecordedEvent

from .state import CommentRow, State, ThreadRow

PUBLISHED = "published"
PENDING = "pending"
REJECTED = "rejected"
HIDDEN = "hidden"
SPAM = "spam"  # stored only: every answer reads it as REJECTED (public_status)
# event type -> the status it leaves the comment in
STATUS_AFTER = {"CommentHeld": PENDING, "CommentApproved": PUBLISHED, "CommentRejected": REJECTED,
                "CommentHidden": HIDDEN, "CommentRestored": PUBLISHED, "CommentMarkedSpam": SPAM}
# a stored status -> how an answer gives it (public_status): to whom may see the comment in full, to anyone else
OWN_STATUS = {SPAM: REJECTED}
PUBLIC_STATUS = {SPAM: REJECTED, PENDING: HIDDEN}
THREAD_EVENTS = {"ThreadClosed", "ThreadReopened", "ThreadModerationChanged"}
# frames that never reach the public (who reported what stays with staff)
PRIVATE_EVENTS = {"CommentReported"}

__all__ = ["MODERATION_TYPES", "PUBLISHED", "PENDING", "REJECTED", "HIDDEN", "SPAM", "apply", "is_public",
           "public_status", "withheld_frame"]


def public_status(status: str, *, private: bool = True) -> str:
    """A stored status as an answer gives it: one of published, pending, rejected, hidden. `private`: the reader
    may see the comment in full (its author, staff). For anyone else a pending comment — listed only as the
    placeholder of a comment held again that keeps its replies — reads `hidden`: taken from the public and able to
    come back (approve, like restore), with no verdict. Whether it waits for a moderator, and why, is not theirs to
    know (the contract: a pending comment is seen by its author and staff only)."""
    return (OWN_STATUS if private else PUBLIC_STATUS).get(status, status)


def is_public(row: CommentRow | None) -> bool:
    return row is not None and row.status == PUBLISHED and not row.deleted


def set_status(state: State, thread: ThreadRow, row: CommentRow, status: str, ev: RecordedEvent) -> CommentRow | None:
    """Move `row` to `status`, keeping the public counts; returns the parent row if it changed."""
    was = is_public(row)
    row.status = status
    now = is_public(row)
    parent = state.comment(row.parent_id) if row.parent_id and (was != now or (now and not row.shown)) else None
    if now and not row.shown:  # first time public: it enters the thread now, as if just posted
        row.shown = True
        row.position, row.created_at = ev.position, ev.recorded_at
        if parent is not None:
            parent.children += 1
    if was != now:
        step = 1 if now else -1
        thread.comment_count += step
        if parent is not None:
            parent.reply_count += step
    if parent is not None:
        state.put_comment(parent)
    state.put_comment(row)
    return parent


def apply(state: State, thread: ThreadRow, ev: RecordedEvent) -> tuple[CommentRow | None, CommentRow | None]:
    """Apply one moderation event of a thread; returns (comment, parent) it touched, for the frame."""
    data = ev.data
    if ev.type in THREAD_EVENTS:
        if ev.type == "ThreadClosed":
            thread.closed = True
        elif ev.type == "ThreadReopened":
            thread.closed = False
        else:
            thread.premoderated = bool(data.get("premoderated"))
        return None, None
    row = state.comment(data.get("comment_id") or "")
    if row is None or row.thread_key != ev.stream:
        return None, None
    parent = None
    if (ev.type == "CommentHeld" and data.get("reason") not in HOLDS_OF_PUBLISHED and row.shown
            and row.position == ev.position - 1):
        # Its CommentPosted was applied without seeing this event next (a batch of the log ended between them):
        # it was never public after all, as if the hold had been seen with it.
        parent = set_status(state, thread, row, PENDING, ev)
        row.shown = False
        if row.parent_id:
            parent = state.comment(row.parent_id)
            if parent is not None:
                parent.children -= 1
                state.put_comment(parent)
        return row, parent
    if ev.type in STATUS_AFTER:
        parent = set_status(state, thread, row, STATUS_AFTER[ev.type], ev)
    elif ev.type == "CommentPinned":
        row.pinned = ev.position
        state.put_comment(row)
    elif ev.type == "CommentUnpinned":
        row.pinned = 0
        state.put_comment(row)
    return row, parent


def holds_posted(posted: RecordedEvent, after: RecordedEvent) -> bool:
    """Whether `after`, the event right after `posted` in the log, is the CommentHeld of `posted`'s own append (thread
    .apply's `held`: the comment was never public). A hold of a published comment (reports, an edit: its own
    append) may follow a CommentPosted too, and is told apart by its reason."""
    return (after.type == "CommentHeld" and posted.type == "CommentPosted"
            and after.data.get("comment_id") == posted.data.get("comment_id")
            and after.data.get("reason") not in HOLDS_OF_PUBLISHED)


def hold_new(state: State, row: CommentRow) -> None:
    """A CommentPosted followed in its append by CommentHeld: the comment is never public until approved."""
    row.status, row.shown = PENDING, False


def withheld_frame(ev: RecordedEvent, thread: ThreadRow) -> dict[str, Any]:
    """The public frame of an event about a comment the public cannot see: only that the thread's version moved
    (readers check stream_version for gaps), no body, no name, no id, the count unchanged."""
    return {"type": "event", "position": ev.position, "stream_version": ev.stream_version,
            "event": {"type": "Withheld", "data": {}}, "counts": {"comment_count": thread.comment_count}}
