"""The notifier: a projection of the log that decides who gets which message, and writes those decisions to the
outbox in the same transaction as its checkpoint (the transactional outbox).

It reads the log in position order from its own checkpoint (`notifier` in threadlog_checkpoint), like the thread
projection, and for each batch of events, in one transaction: updates its read model (who wrote which comment,
threads, when each address was last sent a confirmation), inserts outbox rows (unique per event, recipient and
kind) and personal live notices, and moves its checkpoint. A crash before the commit leaves nothing; after it, the
decisions stand and are never taken twice. Sending is the sender's job (sender.py), after the commit.

Subscriptions and identity links are the handlers' (subscriptions.py: applied as they are appended). The notifier
applies those events again, which changes nothing unless they were appended without, and takes a subscription's
state as of the event it decides on (`confirmed_position`, `ended_position`), not as the handlers have left it.

It never runs inside a request: a post is answered before the notifier even looks at it.
"""
from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timezone
from typing import Iterator, Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from events.people import KeyRing
from events.sql import execute, fetch_one
from events.store import EventStore, RecordedEvent
from projections.base import ProjectionBehind, _set_checkpoint as set_checkpoint
from projections.ranking import epoch_seconds
from projections.thread import encode_frame

from . import subscriptions
from .models import (IdentityLink, Notice, NotifyAddress, NotifyComment, NotifyThread, OutboxMessage,
                     Subscription)
from .tokens import address_of

log = logging.getLogger(__name__)
NOTIFIER = "notifier"
BATCH = 500
NOTICES_KEPT = 10_000


class NotifierRaced(RuntimeError):
    """Another notifier moved the checkpoint first (several server processes): this batch is rolled back."""


def publication(status: str | None, event_type: str) -> str | None:
    """Whether a comment is published now: its status after `event_type` happened to it.

    The one place that knows moderation's events (by type name, whether or not their classes exist here): a held
    comment is CommentPosted followed in the same append by CommentHeld, and is published on CommentApproved;
    rejected, spam and hidden comments are never announced. Any other event leaves the status as it was."""
    return {
        "CommentPosted": "published",
        "CommentHeld": "pending",
        "CommentApproved": "published",
        "CommentRejected": "rejected",
        "CommentMarkedSpam": "spam",
        "CommentHidden": "hidden",
        "CommentDeleted": "deleted",
    }.get(event_type, status)


def checkpoint(using: str = "default") -> int:
    row = fetch_one(using, "SELECT position FROM threadlog_checkpoint WHERE name = %s", [NOTIFIER])
    return int(row[0]) if row else 0


def _move_checkpoint(using: str, was: int, to: int) -> None:
    """Move the checkpoint from `was` (where this notifier read it) to `to`, or raise NotifierRaced."""
    try:
        set_checkpoint(to, NOTIFIER, using, was=was)
    except ProjectionBehind:
        raise NotifierRaced(f"the notifier's checkpoint is no longer at {was}") from None


@contextlib.contextmanager
def own_write(store: EventStore) -> Iterator[None]:
    """A write transaction of the notifier or the sender. On SQLite it queues on the append lock like any writer
    (a request then waits in the kernel's queue instead of finding SQLite's lock taken); on PostgreSQL it takes no
    lock: its tables are its own, and posts must not wait for a notifier writing 10,000 outbox rows."""
    if store.is_postgres:
        with transaction.atomic(using=store.using):
            yield
    else:
        with store.write_transaction():
            yield


def _whole_appends(store: EventStore, page: list[RecordedEvent]) -> list[RecordedEvent]:
    """`page`, extended so that it never ends inside one append: a held comment is CommentPosted and CommentHeld
    in one append, and must be decided on with both (one append: one stream, one recorded_at)."""
    while page:
        last = page[-1]
        more = store.read_all(last.position, 50)
        tail = []
        for ev in more:
            if ev.stream != last.stream or ev.recorded_at != last.recorded_at:
                break
            tail.append(ev)
        page = page + tail
        if len(tail) < len(more) or len(more) < 50:
            return page
    return page


def run_once(store: EventStore, *, emit: bool = True, batch: int = BATCH) -> int:
    """Decide on every event after the checkpoint, a batch per transaction. Returns the events decided on.
    `emit=False` (a rebuild) updates the read model only: nothing is sent again."""
    total = 0
    while True:
        with own_write(store):
            done = checkpoint(store.using)
            page = _whole_appends(store, store.read_all(done, batch))
            if page:
                Notifier(store, emit=emit).apply(page)
                _move_checkpoint(store.using, done, page[-1].position)
        total += len(page)
        if len(page) < batch:
            return total


def rebuild(store: EventStore) -> int:
    """The read model again from position 0, without writing a message (sent ones stay sent, pending ones stay).

    The handlers' tables first, in one transaction under the append lock (subscriptions.rebuild); then the
    notifier's own, in batches, which finds every subscription row there already, as a live notifier does."""
    subscriptions.rebuild(store)
    with own_write(store):
        for model in (NotifyComment, NotifyThread):
            model.objects.using(store.using).all().delete()
        NotifyAddress.objects.using(store.using).update(last_confirmation_at="")
        execute(store.using, "DELETE FROM threadlog_checkpoint WHERE name = %s", [NOTIFIER])
    return run_once(store, emit=False)


class Notifier:
    """Applies one batch of events inside the caller's transaction."""

    def __init__(self, store: EventStore, *, emit: bool = True):
        self.using = store.using
        self.emit = emit
        self.keys = KeyRing(store.using)
        self.now = datetime.now(timezone.utc)
        self.outbox: list[OutboxMessage] = []
        self.notices: list[Notice] = []
        self.candidates: list[tuple[str, RecordedEvent]] = []  # comments that may have become published
        self.group: tuple[str, str] | None = None
        # What this batch read or wrote of its read model, so that a batch of posts costs a few statements, not
        # several ORM queries per comment (the notifier shares the write lock and the cores with the posts):
        self.rows: dict[str, NotifyComment] = {}  # comments read or written in this batch, as they are now
        self.unsaved: dict[str, NotifyComment] = {}  # new comments, inserted together by _flush_rows
        self.watched: dict[str, bool] = {}  # thread key -> whether it has confirmed subscriptions
        self.linked: dict[str, set[str]] = {}  # person -> _persons(person)

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        for ev in events:
            group = (ev.stream, ev.recorded_at)
            if group != self.group:  # a new append: the one before is complete, decide on its comments
                self._announce()
                self.group = group
            handler = getattr(self, f"on_{ev.type}", None)
            if handler is not None:
                if ev.type != "CommentPosted":  # it may read or change what the batch remembers: start afresh
                    self._flush_rows()
                    self.rows.clear()
                    self.watched.clear()
                    self.linked.clear()
                handler(ev, ev.data)
            elif ev.type in _STATUS_EVENTS or publication(None, ev.type) is not None:
                self._status(ev, ev.data)
        self._announce()
        self._flush_rows()
        if self.outbox:
            OutboxMessage.objects.using(self.using).bulk_create(self.outbox, ignore_conflicts=True, batch_size=500)
        if self.notices:
            Notice.objects.using(self.using).bulk_create(self.notices, batch_size=500)
            newest = Notice.objects.using(self.using).order_by("-id").values_list("id", flat=True).first() or 0
            # a notice is for pages open now: keep the last NOTICES_KEPT, enough for any hub's poll to find them
            Notice.objects.using(self.using).filter(id__lte=newest - NOTICES_KEPT).delete()

    # --- threads and comments ---------------------------------------------------------------------

    def on_ThreadOpened(self, ev: RecordedEvent, data: dict) -> None:
        NotifyThread.objects.using(self.using).update_or_create(
            key=ev.stream, defaults={"title": data.get("title") or "", "url": data.get("url") or ""})

    def _author_address(self, data: dict) -> str | None:
        email = data.get("author_email")
        if data.get("sealed_author"):
            fields = self.keys.unseal(data.get("author_id", ""), data["sealed_author"])
            email = fields.get("email") if fields else None
        return address_of(email) if email else None

    def on_CommentPosted(self, ev: RecordedEvent, data: dict) -> None:
        row = NotifyComment(comment_id=data["comment_id"], thread_key=ev.stream, parent_id=data.get("parent_id"),
                            person=data.get("author_id", ""), address=self._author_address(data),
                            status=publication(None, ev.type), event_id=ev.id)
        if row.comment_id in self.rows:
            raise IntegrityError(f"comment {row.comment_id} posted twice")  # as the insert would
        self.rows[row.comment_id] = self.unsaved[row.comment_id] = row
        self.candidates.append((row.comment_id, ev))

    def _row(self, comment_id: str) -> NotifyComment | None:
        """The comment as this batch left it: remembered, or read once."""
        if comment_id in self.rows:
            return self.rows[comment_id]
        row = NotifyComment.objects.using(self.using).filter(pk=comment_id).first()
        if row is not None:
            self.rows[comment_id] = row
        return row

    def _save(self, row: NotifyComment, **fields) -> None:
        """Change a remembered comment, and its table row unless it is still to be inserted."""
        for name, value in fields.items():
            setattr(row, name, value)
        if row.comment_id not in self.unsaved:
            NotifyComment.objects.using(self.using).filter(pk=row.comment_id).update(**fields)

    def _flush_rows(self) -> None:
        if self.unsaved:
            NotifyComment.objects.using(self.using).bulk_create(list(self.unsaved.values()), batch_size=500)
            self.unsaved.clear()

    def _status(self, ev: RecordedEvent, data: dict) -> None:
        comment_id = data.get("comment_id")
        if not comment_id:
            return
        row = self._row(comment_id)
        if row is None:
            return
        status = publication(row.status, ev.type)
        if status != row.status:
            self._save(row, status=status)
            if status == "published":
                self.candidates.append((comment_id, ev))

    def _announce(self) -> None:
        """Announce each comment of the finished append that is published now and was never announced."""
        candidates, self.candidates = self.candidates, []
        for comment_id, ev in candidates:
            row = self._row(comment_id)
            if row is None or row.status != "published" or row.notified:
                continue
            self._save(row, notified=True)
            if self.emit:
                self._decide(row, ev)

    def _watched(self, thread_key: str) -> bool:
        """Whether anyone has a confirmed subscription to the thread (most threads: nobody, nothing to decide)."""
        if thread_key not in self.watched:
            self.watched[thread_key] = Subscription.objects.using(self.using).filter(
                thread_key=thread_key, state="confirmed").exists()
        return self.watched[thread_key]

    def _persons(self, person: str) -> set[str]:
        """A person and the identities linked to them (a reader's guests, a guest's reader)."""
        if person in self.linked:
            return self.linked[person]
        links = IdentityLink.objects.using(self.using)
        found = {person}
        found.update(links.filter(guest=person).values_list("reader", flat=True))
        found.update(links.filter(reader__in=found).values_list("guest", flat=True))
        self.linked[person] = found
        return found

    def _decide(self, row: NotifyComment, ev: RecordedEvent) -> None:
        """Who is told of this newly published comment: `comments` subscribers of the thread, and `replies`
        subscribers who wrote the comment it answers; one message per address, never to its own author."""
        watched = self._watched(row.thread_key)
        if not watched and not row.parent_id:
            return  # no subscriber to tell, no author of a parent to notify live
        authors = self._persons(row.person)
        recipients: dict[str, tuple[str, Subscription]] = {}
        # confirmed when this comment was published (a handler may have confirmed one since: not told of it; a row an
        # older version confirmed has no position: confirmed before)
        live = Subscription.objects.using(self.using).filter(
            Q(confirmed_position__lte=ev.position) | Q(confirmed_position__isnull=True),
            thread_key=row.thread_key, state="confirmed")
        if watched:
            for sub in live.filter(notify="comments").exclude(address=None).iterator(chunk_size=2000):
                if sub.person not in authors and sub.address != row.address:
                    recipients[sub.address] = ("comment", sub)
        parent = self._row(row.parent_id) if row.parent_id else None
        if parent is not None:
            owners = self._persons(parent.person)
            if not owners & authors and not (parent.address and parent.address == row.address):
                mine = Q(person__in=owners) | (Q(address=parent.address) if parent.address else Q(pk__in=[]))
                for sub in (live.filter(mine, notify="replies").exclude(address=None) if watched else ()):
                    if sub.person not in authors and sub.address != row.address:
                        recipients[sub.address] = ("reply", sub)
                frame = encode_frame({"type": "notice", "kind": "reply", "comment_id": row.comment_id,
                                      "thread": row.thread_key})
                self.notices.extend(Notice(person=p, frame=frame, position=ev.position) for p in sorted(owners))
        for address, (kind, sub) in recipients.items():
            self._queue(kind, sub, ref=row.event_id, position=ev.position, comment_id=row.comment_id)

    def _queue(self, kind: str, sub: Subscription, *, ref: str, position: int, comment_id: str = "") -> None:
        self.outbox.append(OutboxMessage(
            key=f"{ref}:{sub.address}:{kind}", kind=kind, recipient=sub.address, person=sub.person,
            sealed_to=sub.sealed_email, subscription_id=sub.id, thread_key=sub.thread_key, comment_id=comment_id,
            ref=ref, position=position, created_at=self.now, due_at=self.now))

    # --- subscriptions --------------------------------------------------------------------------------

    def on_SubscriptionRequested(self, ev: RecordedEvent, data: dict) -> None:
        """Applied (or found applied); then a confirmation message if the subscription was waiting for one at this
        position and the address was sent none in the last RESEND_SECONDS. Decided from the log alone (a rebuild
        decides the same), except that nothing is queued for a subscription confirmed or ended since."""
        subscriptions.requested(ev, using=self.using, keys=self.keys)
        sub = Subscription.objects.using(self.using).filter(pk=data["subscription_id"]).first()
        if sub is None or not sub.address or not subscriptions.requested_as_of(
                ev.position, sub.confirmed_position, sub.ended_position):
            return
        addr, _ = NotifyAddress.objects.using(self.using).get_or_create(address=sub.address)
        resend = settings.NOTIFY["RESEND_SECONDS"]
        if addr.last_confirmation_at and _seconds(addr.last_confirmation_at, ev.recorded_at) < resend:
            return  # asked again within 10 minutes: the confirmation already sent confirms this one too
        addr.last_confirmation_at = ev.recorded_at
        addr.save(using=self.using, update_fields=["last_confirmation_at"])
        if self.emit and sub.state == "requested":
            self._queue("confirm", sub, ref=ev.id, position=ev.position)

    def on_SubscriptionConfirmed(self, ev: RecordedEvent, data: dict) -> None:
        subscriptions.confirmed(ev, using=self.using)

    def on_SubscriptionEnded(self, ev: RecordedEvent, data: dict) -> None:
        subscriptions.ended(ev, using=self.using)
        OutboxMessage.objects.using(self.using).filter(
            subscription_id=data["subscription_id"], status="pending").update(
            status="dropped", last_error=f"subscription ended ({data.get('why', '')})")

    def on_PersonErased(self, ev: RecordedEvent, data: dict) -> None:
        person = data["person"]
        subscriptions.person_erased(ev, using=self.using)
        NotifyComment.objects.using(self.using).filter(person=person).update(address=None)
        OutboxMessage.objects.using(self.using).filter(person=person, status="pending").update(
            status="dropped", sealed_to="", last_error="person erased")

    def on_GuestLinked(self, ev: RecordedEvent, data: dict) -> None:
        subscriptions.guest_linked(ev, using=self.using)


_STATUS_EVENTS = ("CommentHeld", "CommentApproved", "CommentRejected", "CommentMarkedSpam", "CommentHidden",
                  "CommentDeleted")


def _seconds(earlier: str, later: str) -> float:
    return epoch_seconds(later) - epoch_seconds(earlier)
