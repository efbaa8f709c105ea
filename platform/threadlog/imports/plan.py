"""What one source thread becomes: the decisions every format shares, and the events they produce.

- Which comments are kept, under which parent and in what order: order.py (no database needed, so the reader
  process decides it). Once moderation's `CommentHeld` event is registered, unapproved comments are imported
  as pending instead of skipped: `_held` builds that event and nothing else changes.
- Each comment's id is derived from the source's (uuid5 of format, thread key and source id): a comment
  already imported is recognised by it and never posted twice.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from django.conf import settings

from events.imported import ThreadOpened, VotesImported
from events.sealing import seal_with
from events.types import Event, UnknownEventType, event_class

from .model import SourceComment, SourceThread, Status, Tally, comment_uuid
from .order import order_thread

MAX_NAME = 64  # the read model's author_name column
MAX_TITLE = 300
ANONYMOUS = "Anonymous"
DELETED_REASON = "deleted before the import"
HELD_REASON = "premoderation"  # moderation's reason for a comment held before anyone saw it


def author_id(fmt: str, name: str, email: str) -> str:
    """One pseudonymous person per source author (by e-mail, else name): their key seals their name and e-mail,
    and erasing that person erases every comment of theirs. Keyed with SECRET_KEY, so the id reveals nothing."""
    return _person(fmt, f"email:{email.lower()}" if email else f"name:{name}" if name else "anonymous")


@functools.lru_cache(maxsize=65536)  # by who the author is (an author writes under several names): few misses
def _person(fmt: str, who: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{fmt}\n{who}".encode(), hashlib.sha256).hexdigest()
    return f"import:{digest[:24]}"


def _held(comment_id: str) -> Event | None:
    """Moderation's CommentHeld (the comment is pending), or None while moderation does not exist."""
    try:
        cls = event_class("CommentHeld")
    except UnknownEventType:
        return None
    try:
        return cls.from_data({"comment_id": comment_id, "reason": HELD_REASON})
    except (TypeError, ValueError):
        return None


@dataclass
class ThreadPlan:
    key: str
    events: list[Event] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    authors: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)  # sealed token -> the name it seals (the projection's)

    def add(self, event: Event, occurred_at: str, source_id: str, fmt: str) -> None:
        self.events.append(event)
        self.metadata.append({"occurred_at": occurred_at, "source": fmt, "source_id": source_id})


def plan_thread(thread: SourceThread, *, key: str, fmt: str, opened: bool, existing: set[str], actor: str,
                keys_for: Callable[[Iterable[str]], dict[str, str]], tally: Tally) -> ThreadPlan:
    """The events that import `thread` into the thread `key` (`opened`: it exists already; `existing`: the ids
    of its comments). `keys_for(people)` gives their sealing keys."""
    decided = decide_thread(thread, key=key, fmt=fmt, opened=opened, existing=existing, actor=actor, tally=tally)
    return decided.plan(keys_for(decided.people) if decided.people else {})


@dataclass
class Decided:
    """What is to be imported of one thread, before its authors' keys are known: `people` are the authors whose
    names it seals; `plan(keys)` (their keys) builds the events. An import looks up the keys of many threads'
    authors at once."""

    people: set[str]
    plan: Callable[..., ThreadPlan]  # (keys, seal=seal_with)


def held_possible() -> bool:
    """Whether unapproved comments can be imported as pending (moderation's CommentHeld is registered)."""
    return _held("00000000-0000-0000-0000-000000000000") is not None


def decide_thread(thread: SourceThread, *, key: str, fmt: str, opened: bool, existing: set[str], actor: str,
                  tally: Tally) -> Decided:
    """plan_thread in two steps (Decided). A thread not yet ordered (order.order_thread: the reader process
    orders the file's threads) is ordered here."""
    order_thread(thread, held_possible=held_possible(), tally=tally)
    posting = thread.comments
    result = ThreadPlan(key)
    if not opened:
        first = min(t for t in (thread.created_at, min((c.created_at for c in posting), default=None)) if t) or ""
        result.add(ThreadOpened(key=key, title=thread.title[:MAX_TITLE], url=thread.url), first, thread.id, fmt)
    ids = {c.id: c.uid or comment_uuid(fmt, key, c.id) for c in posting}
    new = [c for c in posting if ids[c.id] not in existing]
    tally.already_imported += len(posting) - len(new)
    people = {c.id: "import:deleted" if c.status is Status.TRASH else author_id(fmt, c.author_name, c.author_email)
              for c in new}
    result.authors.update(people.values())
    return Decided(set(people.values()), lambda keys, seal=seal_with: _events(
        result, thread, new, ids, people, keys, seal, fmt=fmt, key=key, actor=actor, tally=tally))


def _events(result: ThreadPlan, thread: SourceThread, new: list[SourceComment], ids: dict[str, str],
            people: dict[str, str], keys: dict[str, str], seal: Callable[[str, str, dict[str, Any]], str], *,
            fmt: str, key: str, actor: str, tally: Tally) -> ThreadPlan:
    votes: list[tuple[str, int, int]] = []
    # The newest versions (their added fields keep their defaults: a plain-text body), as the live path writes
    # them: a rebuild upcasts older rows, and its live frames must equal the ones stored now.
    CommentPosted, CommentDeleted = event_class("CommentPosted"), event_class("CommentDeleted")
    for c in new:
        cid, person = ids[c.id], people[c.id]
        p = c.parent_id
        placeholder = c.status is Status.TRASH
        name = c.author_name[:MAX_NAME] or ANONYMOUS
        fields = {"name": "", "email": None} if placeholder else {"name": name, "email": c.author_email or None}
        sealed = seal(keys[person], person, fields)
        result.names[sealed] = fields["name"]
        result.add(CommentPosted(comment_id=cid, body="" if placeholder else c.body, author_id=person,
                                 parent_id=(ids.get(p) or comment_uuid(fmt, key, p)) if p is not None else None,
                                 sealed_author=sealed), c.created_at, c.id, fmt)
        tally.comments += 1
        if placeholder:
            result.add(CommentDeleted(comment_id=cid, deleted_by=actor, reason=DELETED_REASON), c.created_at, c.id,
                       fmt)
            tally.placeholders += 1
            continue
        if c.status is Status.PENDING:
            held = _held(cid)
            if held is not None:
                result.add(held, c.created_at, c.id, fmt)
        if c.up or c.down:
            votes.append((cid, c.up, c.down))
            tally.votes += c.up + c.down
    if votes:  # at the time of the newest comment they count
        result.add(VotesImported(votes=tuple(votes)), max(c.created_at for c in new), thread.id, fmt)
    return result
