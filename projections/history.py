"""A thread as it stood at any position, and what changed between two positions (for auditors)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from events.store import EventStore, RecordedEvent

from . import history_index, snapshots
from .state import CommentRow, MemoryState, ThreadRow


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


# --- one step of a thread's history (the audit page) ------------------------------------------------------

# Fields every event moves (or that follow from others): not worth a line of their own in a step's changes.
_QUIET = {"position", "edited_at", "body_html", "children", "reply_count", "score", "up", "down", "body", "deleted",
          "author_name", "shown"}
_QUIET_THREAD = {"stream_version", "last_position", "frames_pruned_through", "frames_mark", "comment_count"}


@dataclass
class Change:
    """One thing a step changed, for a person: `kind` picks the colour, `words` says it."""

    kind: str  # added, edited, deleted, votes, moderation, thread
    words: str
    comment: CommentRow | None = None
    before: str = ""  # the text before an edit
    after: str = ""  # and after it


@dataclass
class Step:
    """A thread as it stood after the event at `position`, with that event and what it changed."""

    key: str
    event: RecordedEvent
    thread: ThreadRow | None  # the thread's row then (title, comment count, …)
    changes: list[Change]
    number: int  # the event's stream_version: step `number` of `steps`
    steps: int
    first: int  # position of the thread's first and last events
    last: int
    previous: int | None  # position of the thread's event before and after this one
    next: int | None


def _positions(store: EventStore, key: str, versions: list[int]) -> dict[int, int]:
    marks = ", ".join(["%s"] * len(versions))
    with store.connection.cursor() as cur:
        cur.execute(f"SELECT stream_version, position FROM threadlog_events WHERE stream = %s "
                    f"AND stream_version IN ({marks})", [key, *versions])
        return {int(v): int(p) for v, p in cur.fetchall()}


def position_of_step(store: EventStore, key: str, number: int) -> int | None:
    """The position of the thread's `number`-th event (the slider counts events of the thread, not positions)."""
    number = max(number, 1)
    return _positions(store, key, [number]).get(number)


def step_at(store: EventStore, key: str, position: int | None) -> Step | None:
    """The thread at `position` (None: now) and the change its event made; None if it had no event by then.

    No replay: the history index (projections.history_index) holds each row as it stood after each event that
    changed it, so the rows the step's event changed are read as they stood before and after it."""
    steps = store.stream_version(key)
    if steps == 0:
        return None
    last = _positions(store, key, [steps])[steps]
    history_index.ensure_through(store, key, last)  # usually nothing to do: the history processes keep it up
    number = history_index.version_at(store, key, position) if position is not None else steps
    if number == 0:
        if steps == 0:
            return None
        number = 1  # before the thread's first event: show its first step
    around = _positions(store, key, [1, number - 1, number + 1, steps])
    event = store.read_stream(key, number - 1, limit=1)[0]
    touched = history_index.changed_at(store, key, event.position)
    cid = event.data.get("comment_id")
    touched.sort(key=lambda c: c != cid)  # the event's own comment first, then (say) the parent it replied to
    before = history_index.rows_at(store, key, touched, event.position - 1)
    after = history_index.rows_at(store, key, touched, event.position)
    thread_before = history_index.thread_at(store, key, event.position - 1)
    thread = history_index.thread_at(store, key, event.position)
    changes = _changes(event, before, {c: after.get(c) for c in touched}, thread_before, thread)
    return Step(key, event, thread, changes, number, steps, around.get(1, event.position),
                around.get(steps, event.position), around.get(number - 1), around.get(number + 1))


def _text(body: str, limit: int = 120) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _changes(event: RecordedEvent, before: dict[str, CommentRow], after: dict[str, CommentRow | None],
             thread_before: ThreadRow | None, thread_after: ThreadRow | None) -> list[Change]:
    out: list[Change] = []
    data = event.data
    if thread_before is None and thread_after is not None:
        out.append(Change("thread", f"thread opened: {thread_after.title or thread_after.key!r}"))
    elif thread_before is not None and thread_after is not None:  # fields other capabilities add (closed, …)
        moved = [f"{f.name}: {getattr(thread_before, f.name)!r} → {getattr(thread_after, f.name)!r}"
                 for f in fields(thread_after) if f.name not in _QUIET_THREAD
                 and getattr(thread_before, f.name) != getattr(thread_after, f.name)]
        if moved:
            out.append(Change("moderation", f"{event.type}: thread " + "; ".join(moved)))
    for cid, new in after.items():
        if new is None:
            continue
        old = before.get(cid)
        if old is None:
            where = f"a reply to #{_short(new.parent_id)}" if new.parent_id else "a top-level comment"
            out.append(Change("added", f"{new.author_name} posted {where}: “{_text(new.body)}”", new,
                              after=new.body))
            continue
        if new.deleted and not old.deleted:
            reason = f" (reason: {data['reason']})" if data.get("reason") else ""
            out.append(Change("deleted", f"comment by {old.author_name} deleted by {data.get('deleted_by', '?')}"
                                         f"{reason}", new, before=old.body))
        elif new.body != old.body:
            out.append(Change("edited", f"{new.author_name} edited their comment", new, before=old.body,
                              after=new.body))
        if (old.up, old.down) != (new.up, new.down):
            value = data.get("value")
            what = {1: "voted up", -1: "voted down", 0: "took back their vote"}.get(value, f"voted {value}")
            out.append(Change("votes", f"{data.get('voter', 'someone')} {what} on {new.author_name}'s comment: "
                                       f"▲{old.up} ▼{old.down} → ▲{new.up} ▼{new.down}", new))
        moved = [f"{f.name}: {getattr(old, f.name)!r} → {getattr(new, f.name)!r}" for f in fields(new)
                 if f.name not in _QUIET and getattr(old, f.name) != getattr(new, f.name)]
        if moved:  # fields other capabilities add to a comment (moderation status, pinned, …)
            out.append(Change("moderation", f"{event.type}: " + "; ".join(moved), new))
    if not out:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(data.items()) if k not in ("body", "sealed_author"))
        kind = "moderation" if data.get("moderator") or event.type.startswith(("Comment", "Moderat")) else "thread"
        out.append(Change(kind, f"{event.type}" + (f": {detail}" if detail else "") + " (no visible change)"))
    elif data.get("moderator"):
        reason = f", reason: {data['reason']}" if data.get("reason") else ""
        out[-1].words += f" — by moderator {data['moderator']}{reason}"
    return out


def _short(comment_id: str | None) -> str:
    return (comment_id or "")[:8]
