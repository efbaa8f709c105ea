"""Handlers decide against the current read model, inside the append transaction, and append all or nothing.

Each handler runs under the store's append lock, so what it checked is still true when it appends, and
projects its events before commit: the response and the push reflect the new state.
"""
from __future__ import annotations

import hashlib

import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from django.conf import settings
from django.db import transaction

from events.people import erase_key, person_key, seal
from events.store import ANY, NO_STREAM, EventStore, RecordedEvent, WrongExpectedVersion, get_store
from events.anchors import CommentPosted
from events.formats import CommentEdited
from events.moderation import CommentHeld
from events.types import CommentDeleted, PersonErased, ThreadOpened, VoteCast
from projections.base import ProjectionBehind, apply_events, lagging, project_pending
from projections.models import CommentView
from projections.queries import comment_by_id, thread_by_key, vote_value
from projections.state import CommentRow, MemoryState, ThreadRow
from projections.ranking import epoch_seconds
from threadlog.notifications.readers import owns

from threadlog.moderation import rules
from threadlog.ops import metrics

from . import post_context
from .errors import CommandError, not_found
from .messages import CastVote, DeleteComment, EditComment, ErasePerson, PostComment


@dataclass(frozen=True)
class Actor:
    """Who acts: "user:<pk>" or "guest:<token>"; staff may edit and delete anything at any time."""

    id: str
    is_staff: bool = False
    request_id: str = ""
    ip_hash: str = ""

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"actor": self.id}
        if self.request_id:
            meta["request_id"] = self.request_id
        if self.ip_hash:
            meta["ip_hash"] = self.ip_hash
        return meta


@dataclass
class Result:
    recorded: list[RecordedEvent] = field(default_factory=list)
    thread: str = ""
    comment_id: str = ""
    position: int = 0
    replayed: bool = False  # an idempotent retry: nothing was appended
    comment: CommentRow | None = None  # the comment as just projected (None: read it from the read model)

    @property
    def appended(self) -> bool:
        return bool(self.recorded) and not self.replayed


_after_commit: list[Callable[[int], None]] = []


def on_appended(callback: Callable[[int], None]) -> None:
    """Register a callback run after each commit that appended (the live publisher's doorbell)."""
    _after_commit.append(callback)


def announce(last: int, using: str) -> None:
    """Ring the on_appended doorbells once the current transaction commits: for appends made outside `handle`
    (an import's, commands.importing), which commit many appends at once."""
    for callback in _after_commit:
        transaction.on_commit(lambda cb=callback: cb(last), using=using)


def _commit(store: EventStore, thread: str, events: list, *, expected, actor: Actor,
            idempotency_key: str | None, key: str | None = None, threads: tuple[ThreadRow, ...] = (),
            comments: tuple[CommentRow, ...] = (), names: dict[str, str] | None = None
            ) -> tuple[list[RecordedEvent], MemoryState]:
    """Append and project. `threads` and `comments` are the rows the handler decided on, read in this
    transaction, `key` the actor's key and `names` the author tokens the handler sealed with it, and their names:
    the projection starts from them instead of reading (or opening) them again."""
    metadata = actor.metadata()
    if "ip_hash" in metadata:  # personal: sealed with the actor's key, erasable
        metadata["sealed"] = seal(actor.id, {"ip_hash": metadata.pop("ip_hash")}, using=store.using, key=key)
    started = time.perf_counter()
    recorded = store.append(thread, events, expected_version=expected, idempotency_key=idempotency_key,
                            metadata=metadata)
    metrics.appended(recorded, started, using=store.using)

    def known(state) -> None:
        state.known(threads=threads, comments=comments, keys={actor.id: key} if key else None, names=names)

    # under the lock; raises ProjectionBehind if the read model lacks earlier events (handle() catches up)
    projected = apply_events(recorded, using=store.using, known=known, fresh=True)
    last = recorded[-1].position
    for callback in _after_commit:
        transaction.on_commit(lambda cb=callback: cb(last), using=store.using)
    return recorded, projected


def _replayed(done: list[RecordedEvent]) -> Result:
    """The result of the first request with this idempotency key, from the events it recorded."""
    posted = next((e for e in done if e.type == "CommentPosted"), done[0])
    return Result(done, posted.stream, posted.data.get("comment_id", ""), done[-1].position, replayed=True)


def _comment(thread_key: str | None, comment_id: str) -> CommentRow:
    row = comment_by_id(comment_id)
    if row is None or (thread_key is not None and row.thread_key != thread_key):
        raise not_found("comment", comment_id)
    return row


def post_comment(cmd: PostComment, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    context = post_context.read(cmd.thread, actor.id, actor.ip_hash, cmd.body, using=store.using)
    thread = context.thread
    rules.refuse_closed(thread)
    rules.refuse_ban(context.banned_until, staff=actor.is_staff)
    parent = None
    if cmd.parent_id:
        if thread is None:
            raise not_found("comment", cmd.parent_id)
        parent = _comment(cmd.thread, cmd.parent_id)
        if parent.deleted:
            raise CommandError("parent_deleted", "cannot reply to a deleted comment", 409)
        limit = settings.THREADLOG["MAX_REPLY_DEPTH"]
        if parent.depth + 1 > limit:
            raise CommandError("reply_too_deep", f"replies nest at most {limit} levels deep; reply higher up", 422)
        rules.refuse_unpublished_parent(parent)
    if context.duplicate:
        raise rules.duplicate_comment()
    hold = rules.hold_reason(body=cmd.body, author_id=actor.id, is_staff=actor.is_staff, thread=thread,
                             honeypot=cmd.honeypot, using=store.using)
    comment_id = str(uuid.uuid4())
    key = context.key or person_key(actor.id, using=store.using)
    sealed = seal(actor.id, {"name": cmd.author_name, "email": cmd.author_email}, using=store.using, key=key)
    posted = CommentPosted(comment_id=comment_id, body=cmd.body, author_id=actor.id, parent_id=cmd.parent_id,
                           sealed_author=sealed, format=cmd.format, anchor=None if cmd.parent_id else cmd.anchor)
    events: list = [posted] if thread else [ThreadOpened(key=cmd.thread, title=cmd.title), posted]
    if hold:  # in the same append, right after it: never public until approved (projections.moderation)
        events.append(CommentHeld(comment_id=comment_id, reason=hold))
    expected = thread.stream_version if thread else NO_STREAM
    recorded, projected = _commit(store, cmd.thread, events, expected=expected, actor=actor,
                                  idempotency_key=idempotency_key, key=key, threads=(thread,) if thread else (),
                                  comments=(parent,) if parent else (), names={sealed: cmd.author_name})
    return Result(recorded, cmd.thread, comment_id, recorded[-1].position, comment=projected.comment(comment_id))


def cast_vote(cmd: CastVote, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    comment = _comment(None, cmd.comment_id)
    if comment.deleted:
        raise CommandError("comment_deleted", "cannot vote on a deleted comment", 409)
    if comment.status != "published":
        raise CommandError("comment_not_published", "votes go to published comments only", 409)
    current = vote_value(comment.id, actor.id)
    thread = thread_by_key(comment.thread_key)
    if current == cmd.value:
        return Result([], thread.key, comment.id, thread.last_position)
    recorded, projected = _commit(store, thread.key, [VoteCast(comment_id=comment.id, voter=actor.id, value=cmd.value)],
                                  expected=thread.stream_version, actor=actor, idempotency_key=idempotency_key,
                                  threads=(thread,), comments=(comment,))
    return Result(recorded, thread.key, comment.id, recorded[-1].position, comment=projected.comment(comment.id))


def _may_change(comment: CommentRow, actor: Actor) -> None:
    if actor.is_staff:
        return
    if comment.author_id != actor.id and not owns(actor.id, comment.author_id):
        raise CommandError("not_author", "only the comment's author (or a moderator) may change it", 403)
    window = settings.THREADLOG["EDIT_WINDOW_SECONDS"]
    age = datetime.now(timezone.utc).timestamp() - epoch_seconds(comment.created_at)
    if age > window:
        raise CommandError("edit_window_passed", f"comments can be changed for {window // 60} minutes only", 403)


def _changeable(comment_id: str, actor: Actor, verb: str) -> tuple[CommentRow, ThreadRow]:
    """The comment and its thread, if the actor may still edit or delete it."""
    comment = _comment(None, comment_id)
    if comment.deleted:
        raise CommandError("comment_deleted", f"a deleted comment cannot be {verb}", 409)
    _may_change(comment, actor)
    return comment, thread_by_key(comment.thread_key)


def edit_comment(cmd: EditComment, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    comment, thread = _changeable(cmd.comment_id, actor, "edited")
    rules.refuse_banned(actor.id, actor.ip_hash, staff=actor.is_staff, using=store.using)
    format = cmd.format or comment.format
    if comment.body == cmd.body and comment.format == format:
        return Result([], thread.key, comment.id, thread.last_position)
    edited = CommentEdited(comment_id=comment.id, body=cmd.body, editor_id=actor.id, format=format)
    hold = rules.edit_hold_reason(old_body=comment.body, new_body=cmd.body, status=comment.status,
                                  is_staff=actor.is_staff)
    # Held first, in the same append: the public's frames then never carry the new text (the edit of a pending
    # comment is withheld from them). Its reason (edit_links, edit_words) tells it from a new comment's hold
    # (projections.moderation.holds_posted).
    events = [CommentHeld(comment_id=comment.id, reason=hold), edited] if hold else [edited]
    recorded, _ = _commit(store, thread.key, events,
                          expected=thread.stream_version, actor=actor, idempotency_key=idempotency_key,
                          threads=(thread,), comments=(comment,))
    return Result(recorded, thread.key, comment.id, recorded[-1].position)


def delete_comment(cmd: DeleteComment, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    comment, thread = _changeable(cmd.comment_id, actor, "deleted")
    event = CommentDeleted(comment_id=comment.id, deleted_by=actor.id, reason=cmd.reason)
    recorded, _ = _commit(store, thread.key, [event], expected=thread.stream_version, actor=actor,
                          idempotency_key=idempotency_key, threads=(thread,), comments=(comment,))
    return Result(recorded, thread.key, comment.id, recorded[-1].position)


PEOPLE_STREAM = "system:people"  # not a valid thread key: no reader can open it as a thread


def erase_person(cmd: ErasePerson, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    if not actor.is_staff:
        raise CommandError("forbidden", "only staff may erase a person", 403)
    if cmd.bodies not in ("kept", "hidden"):
        raise CommandError("invalid_request", "bodies must be kept or hidden", 422)
    if not erase_key(cmd.person, bodies=cmd.bodies, using=store.using) and not CommentView.objects.filter(author_id=cmd.person).exists():
        raise not_found("person", cmd.person)
    recorded, _ = _commit(store, PEOPLE_STREAM, [PersonErased(person=cmd.person, bodies=cmd.bodies)], expected=ANY,
                       actor=Actor(actor.id, is_staff=True), idempotency_key=idempotency_key)
    return Result(recorded, PEOPLE_STREAM, "", recorded[-1].position)


HANDLERS: dict[type, Callable[..., Result]] = {
    PostComment: post_comment,
    CastVote: cast_vote,
    EditComment: edit_comment,
    DeleteComment: delete_comment,
    ErasePerson: erase_person,
}


def handle(command: Any, actor: Actor, *, idempotency_key: str | None = None,
           store: EventStore | None = None) -> Result:
    """Run the command's handler under the append lock, against a read model that holds every event.

    Every writer projects in its own append transaction, so the read model is current unless events were
    appended without projection (an import). That is not checked up front (a query on every write) but
    wherever the decision could rest on it: an append's projection finds the gap, and a command that would
    fail or append nothing first looks whether the read model lags. Then the transaction is rolled back, the
    projection catches up (in a transaction of its own) and the command is decided once more."""
    store = store or get_store()
    scoped_key = _scoped(actor, command, idempotency_key) if idempotency_key else None
    try:
        return _decide(command, actor, store, scoped_key, catch_up=False)
    except ProjectionBehind:
        with store.write_transaction():  # committed on its own: it stands whatever the command's fate
            project_pending(store)
        return _decide(command, actor, store, scoped_key, catch_up=True)


def _scoped(actor: Actor, command: Any, idempotency_key: str) -> str:
    """The key as stored: per writer and per kind of command. A retry gets the first result even with another body
    (the key names the request), but a key first used to vote is no replay of a ban (hashed: a fixed length)."""
    digest = hashlib.sha256(f"{type(command).__name__}\x00{idempotency_key}".encode()).hexdigest()[:40]
    return f"{actor.id}:{digest}"


def _decide(command: Any, actor: Actor, store: EventStore, scoped_key: str | None, *, catch_up: bool) -> Result:
    with store.write_transaction():
        if scoped_key and (done := store.recorded_for(scoped_key)) is not None:
            return _replayed(done)  # a retry: the first result, nothing appended
        if catch_up:
            project_pending(store)
        try:
            result = HANDLERS[type(command)](command, actor, store, scoped_key)
        except (CommandError, WrongExpectedVersion):
            if not catch_up and lagging(store):
                raise ProjectionBehind("decided against a read model short of the log") from None
            raise
        if not result.recorded and not catch_up and lagging(store):
            raise ProjectionBehind("decided against a read model short of the log")
        return result
