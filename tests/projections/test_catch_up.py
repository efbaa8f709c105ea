"""Commands decided while the read model is short of the log (events appended without projection: an import).

The write path does not ask before each command whether the read model lags; these show that every kind of
decision still ends as if it had: the projection catches up, the command is decided again, and the events
appended are contiguous and all projected."""
from __future__ import annotations

import uuid

import pytest

from events.store import ANY, EventStore
from events.types import CommentPosted, VoteCast
from projections.base import checkpoint
from projections.queries import comment_by_id, thread_by_key
from projections.rebuild import verify
from threadlog.commands import Actor, CastVote, CommandError, PostComment, handle


def post(key: str, body: str = "top", *, who: str = "guest:cu-ann", parent_id: str | None = None) -> str:
    return handle(PostComment(thread=key, body=body, author_name="Ann", parent_id=parent_id), Actor(who)).comment_id


def unprojected(key: str, *events) -> EventStore:
    """Append straight to the log, as an import does: no projection."""
    store = EventStore()
    store.append(key, list(events), expected_version=ANY)
    assert checkpoint() < store.head()
    return store


def assert_current(store: EventStore) -> None:
    assert checkpoint() == store.head()
    assert verify(store) is None  # the live read model equals a rebuild from position 0


def test_reply_to_a_comment_that_is_only_in_the_log(live_db, key):
    top = post(key)
    imported = str(uuid.uuid4())
    store = unprojected(key, CommentPosted(comment_id=imported, body="imported", author_id="guest:cu-bob",
                                           parent_id=top))
    reply = post(key, "re", who="guest:cu-cy", parent_id=imported)
    assert comment_by_id(reply).parent_id == imported
    assert comment_by_id(imported).reply_count == 1
    assert comment_by_id(top).reply_count == 1
    assert_current(store)


def test_post_after_events_of_the_same_thread_only_in_the_log(live_db, key):
    top = post(key)
    store = unprojected(key, VoteCast(comment_id=top, voter="guest:cu-v", value=1))
    before = store.head()
    second = handle(PostComment(thread=key, body="second", author_name="Bo"), Actor("guest:cu-bo"))
    assert second.position == before + 1  # appended once, after the imported vote
    assert comment_by_id(top).up == 1
    assert thread_by_key(key).comment_count == 2
    assert_current(store)


def test_post_after_events_of_another_thread_only_in_the_log(live_db, key):
    """The append goes through (this thread's version is right); its projection finds the gap."""
    other = key + "-other"
    top = post(other)
    store = unprojected(other, VoteCast(comment_id=top, voter="guest:cu-v", value=-1))
    before = store.head()
    result = handle(PostComment(thread=key, body="first here", author_name="Bo"), Actor("guest:cu-bo"))
    assert result.position == before + 2  # ThreadOpened + CommentPosted, right after the import: none lost
    assert [e.position for e in store.read_all(before - 1, 10)] == list(range(before, before + 3))
    assert comment_by_id(top).down == 1
    assert_current(store)


def test_a_vote_already_cast_in_the_log_appends_nothing(live_db, key):
    top = post(key)
    store = unprojected(key, VoteCast(comment_id=top, voter="guest:cu-v", value=1))
    before = store.head()
    result = handle(CastVote(comment_id=top, value=1), Actor("guest:cu-v"))
    assert not result.appended and store.head() == before
    assert comment_by_id(top).up == 1
    assert_current(store)


def test_a_rejection_stands_once_the_read_model_is_current(live_db, key):
    """A command that fails on a current read model fails the same; the catch-up it caused stays."""
    top = post(key)
    store = unprojected(key, VoteCast(comment_id=top, voter="guest:cu-v", value=1))
    before = store.head()
    with pytest.raises(CommandError) as info:
        post(key, "re", parent_id=str(uuid.uuid4()))
    assert info.value.status == 404
    assert store.head() == before
    assert_current(store)
