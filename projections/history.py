"""A thread as it stood at any position, and what changed between two positions (for auditors)."""
from __future__ import annotations

from dataclasses import dataclass, field

from events.store import EventStore

from . import snapshots
from .state import CommentRow, MemoryState


def state_at(store: EventStore, key: str, position: int | None) -> MemoryState:
    return snapshots.state_at(store, key, position)


def render_tree(state: MemoryState, key: str, width: int = 100) -> str:
    """The thread as indented text, oldest first, replies under their parents."""
    thread = state.thread(key)
    if thread is None:
        return f"(thread {key!r} did not exist yet)"
    children: dict[str | None, list[CommentRow]] = {}
    for row in sorted(state.comments.values(), key=lambda r: r.position):
        children.setdefault(row.parent_id, []).append(row)
    lines = [f"{thread.title or key} — {thread.comment_count} comments, position {thread.last_position}"]

    def walk(parent: str | None, depth: int) -> None:
        for row in children.get(parent, ()):
            pad = "  " * depth
            if row.deleted:
                head = f"{pad}- [deleted] #{row.position}"
                text = ""
            else:
                edited = " (edited)" if row.edited_at else ""
                status = f" ({row.status})" if row.status != "published" else ""  # held or removed by a moderator
                head = (f"{pad}- {row.author_name} #{row.position} {row.created_at}{edited}{status} "
                        f"[+{row.up} -{row.down} = {row.score}]")
                text = " ".join(row.body.split())
            lines.append(head)
            if text:
                lines.append(f"{pad}  {text[: width - len(pad) - 2]}")
            walk(row.id, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


@dataclass
class ThreadDiff:
    added: list[CommentRow] = field(default_factory=list)
    edited: list[tuple[CommentRow, CommentRow]] = field(default_factory=list)
    deleted: list[CommentRow] = field(default_factory=list)
    votes: list[tuple[CommentRow, CommentRow]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"+ {r.author_name} #{r.position}: {' '.join(r.body.split())[:80]}" for r in self.added]
        out += [f"~ #{b.position} edited: {' '.join(a.body.split())[:40]!r} -> {' '.join(b.body.split())[:40]!r}"
                for a, b in self.edited]
        out += [f"- #{r.position} deleted ({r.author_name})" for r in self.deleted]
        out += [f"* #{b.position} votes +{a.up}/-{a.down} -> +{b.up}/-{b.down}" for a, b in self.votes]
        return out or ["(no change)"]


def diff_states(before: MemoryState, after: MemoryState) -> ThreadDiff:
    diff = ThreadDiff()
    for cid, new in sorted(after.comments.items(), key=lambda kv: kv[1].position):
        old = before.comments.get(cid)
        if old is None:
            diff.added.append(new)
            continue
        if new.deleted and not old.deleted:
            diff.deleted.append(old)
        elif new.body != old.body and not new.deleted:
            diff.edited.append((old, new))
        if (old.up, old.down) != (new.up, new.down):
            diff.votes.append((old, new))
    return diff
