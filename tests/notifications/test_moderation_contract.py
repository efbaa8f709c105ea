"""The notifier honours moderation's events by type name, before their classes exist: a comment held in its own
append (CommentPosted + CommentHeld) is announced on CommentApproved, never on rejection, spam or hiding; an event
type it does not know changes nothing. Appended through the store's API, decided by the notifier's run."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar

import pytest

from events.people import person_key, seal
from events.store import EventStore
from events.types import CommentPosted, Event
from tests.conftest import unique_key


@dataclass(frozen=True)
class CommentHeld(Event):  # not registered: as if written by a newer version of the code
    type: ClassVar[str] = "CommentHeld"
    comment_id: str
    reason: str = "premoderation"


@dataclass(frozen=True)
class CommentApproved(Event):
    type: ClassVar[str] = "CommentApproved"
    comment_id: str
    moderator: str = "user:1"
    reason: str = ""


@dataclass(frozen=True)
class CommentRejected(Event):
    type: ClassVar[str] = "CommentRejected"
    comment_id: str
    moderator: str = "user:1"
    reason: str = ""


@dataclass(frozen=True)
class SomethingNew(Event):
    type: ClassVar[str] = "SomethingNewEntirely"
    comment_id: str


def _posted(author: str, body: str) -> CommentPosted:
    sealed = seal(author, {"name": "Mo", "email": None}, key=person_key(author))
    return CommentPosted(comment_id=str(uuid.uuid4()), body=body, author_id=author, sealed_author=sealed)


@pytest.fixture
def subscribed(live_db):
    """A thread with one confirmed `comments` subscriber."""
    from threadlog.commands import Actor, PostComment, handle
    from threadlog.notifications import notifier
    from threadlog.notifications.commands import ConfirmSubscription, RequestSubscription
    from threadlog.notifications.models import Subscription

    store = EventStore("default")
    key = unique_key("mod")
    handle(PostComment(thread=key, body="first", author_name="A"), Actor("guest:opener"), store=store)
    result = handle(RequestSubscription(thread=key, email="sub@example.com", notify="comments"), Actor("guest:sub"),
                    store=store)
    notifier.run_once(store)
    handle(ConfirmSubscription(result.comment_id), Actor("system:test"), store=store)
    notifier.run_once(store)
    assert Subscription.objects.get(pk=result.comment_id).state == "confirmed"
    return store, key


def _announced(key: str) -> list[str]:
    from threadlog.notifications.models import OutboxMessage

    return list(OutboxMessage.objects.filter(thread_key=key, kind="comment").order_by("id").values_list(
        "comment_id", flat=True))


@pytest.mark.parametrize("batch", [1, 500], ids=["batch-of-one", "batch"])
def test_held_then_approved_is_announced_once_on_approval(subscribed, batch):
    from threadlog.notifications import notifier

    store, key = subscribed
    held = _posted("guest:mo", "held for review")
    store.append(key, [held, CommentHeld(comment_id=held.comment_id)])
    notifier.run_once(store, batch=batch)  # a batch of one ends between the two: the append is read whole
    assert _announced(key) == []
    store.append(key, [CommentApproved(comment_id=held.comment_id)])
    store.append(key, [CommentApproved(comment_id=held.comment_id)])  # approving twice announces once
    notifier.run_once(store, batch=batch)
    assert _announced(key) == [held.comment_id]


def test_rejected_spam_hidden_and_unknown_events_never_notify(subscribed):
    from threadlog.notifications import notifier

    store, key = subscribed
    rejected = _posted("guest:mo", "rejected")
    store.append(key, [rejected, CommentHeld(comment_id=rejected.comment_id)])
    store.append(key, [CommentRejected(comment_id=rejected.comment_id), SomethingNew(comment_id=rejected.comment_id)])
    published = _posted("guest:mo", "published at once")
    store.append(key, [published])
    notifier.run_once(store)
    assert _announced(key) == [published.comment_id]


def test_publication_is_one_small_function():
    from threadlog.notifications.notifier import publication

    assert publication(None, "CommentPosted") == "published"
    assert publication("published", "CommentHeld") == "pending"
    assert publication("pending", "CommentApproved") == "published"
    for kind in ("CommentRejected", "CommentMarkedSpam", "CommentHidden"):
        assert publication("pending", kind) != "published"
    assert publication("pending", "NeverHeardOfIt") == "pending"


def test_rebuild_gives_the_same_read_model_and_sends_nothing_again(subscribed):
    from threadlog.notifications import notifier
    from threadlog.notifications.models import NotifyComment, OutboxMessage, Subscription

    store, key = subscribed
    store.append(key, [_posted("guest:mo", "announced once")])
    notifier.run_once(store)

    def snapshot():
        return (sorted(Subscription.objects.values_list("id", "state", "address", "notify")),
                sorted(NotifyComment.objects.values_list("comment_id", "status", "notified", "address")))

    before, outbox = snapshot(), OutboxMessage.objects.count()
    notifier.rebuild(store)
    assert snapshot() == before
    assert OutboxMessage.objects.count() == outbox
    assert notifier.checkpoint() == store.head()
