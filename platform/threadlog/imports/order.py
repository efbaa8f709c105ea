"""Which comments of a source thread are kept, under which parent and in what order: the decisions that need no
database, so that the reader process makes them while the importing process appends (reader_process).

Without Django: plan.py decides the rest (what is imported already, the authors' keys, the events).
- Spam, pingbacks/trackbacks and (until moderation exists) unapproved comments are skipped, each counted with
  its reason; `held_possible` says whether moderation exists (the importing process knows: plan.held_possible).
- A deleted comment is kept as a placeholder (posted, then deleted) where a kept comment replies to it, else
  skipped. A reply whose parent is not in the file (or was skipped) becomes a top-level comment.
- Comments are posted oldest first, a parent always before its replies whatever order the file lists them in,
  so the time sorts (by position) are the source's.
"""
from __future__ import annotations

from .model import SourceComment, SourceThread, Status, Tally

SKIP_REASONS = {
    Status.SPAM: "spam",
    Status.PINGBACK: "pingbacks and trackbacks",
    Status.PENDING: "unapproved (no moderation)",
}


def order_thread(thread: SourceThread, *, held_possible: bool, tally: Tally) -> None:
    """In place: `thread.comments` become the comments to post, in posting order, each `parent_id` the kept
    comment it hangs under (None: top level); `thread.ordered` is set. Skips and adjustments go to `tally`."""
    if thread.ordered:
        return
    by_id: dict[str, SourceComment] = {}
    for c in thread.comments:
        if c.id in by_id:
            tally.note("comments listed twice in the file: the last one kept")
        by_id[c.id] = c

    def dropped(c: SourceComment) -> str | None:
        if c.status is Status.PENDING and held_possible:
            return None
        return SKIP_REASONS.get(c.status)

    kept: dict[str, SourceComment] = {}
    for c in by_id.values():
        reason = dropped(c)
        if reason:
            tally.skip(reason)
        elif c.status is not Status.TRASH:
            kept[c.id] = c
    parent_of: dict[str, str | None] = {}

    def parent(c: SourceComment) -> str | None:
        """The source parent this comment hangs under here (None: top level)."""
        if c.id in parent_of:
            return parent_of[c.id]
        p = c.parent_id
        if p is not None and (p == c.id or p not in by_id or dropped(by_id[p])):
            tally.note("replies whose parent is missing or skipped: made top-level")
            p = None
        parent_of[c.id] = p
        return p

    # Deleted comments that live comments reply to (at any depth) stay, as placeholders.
    for c in list(kept.values()):
        seen = {c.id}
        p = parent(c)
        while p is not None and p not in kept:
            if p in seen:  # a cycle of parents in the file: broken at this comment
                parent_of[c.id] = None
                tally.note("replies in a cycle of parents: made top-level")
                break
            seen.add(p)
            kept[p] = by_id[p]  # a TRASH comment with a live descendant
            p = parent(by_id[p])
    for c in by_id.values():
        if c.status is Status.TRASH and c.id not in kept:
            tally.skip("deleted (no replies to keep)")
    # Break cycles among kept comments too (each walk above stops at a kept ancestor).
    done: set[str] = set()
    posting: list[SourceComment] = []

    def emit(c: SourceComment) -> None:
        chain: list[SourceComment] = []
        in_chain: set[str] = set()
        node: SourceComment | None = c
        while node is not None and node.id not in done and node.id not in in_chain:
            chain.append(node)
            in_chain.add(node.id)
            p = parent(node)
            node = kept.get(p) if p is not None else None
        if node is not None and node.id not in done:  # a cycle: the oldest in the chain goes top level
            parent_of[chain[-1].id] = None
            tally.note("replies in a cycle of parents: made top-level")
        for n in reversed(chain):
            done.add(n.id)
            posting.append(n)

    for c in sorted(kept.values(), key=lambda c: (c.created_at, c.order)):
        emit(c)
    for c in posting:
        c.parent_id = parent(c)
    thread.comments = posting
    thread.ordered = True
