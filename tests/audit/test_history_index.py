"""The history index behind the audit thread page (projections.history_index): each row as it stood after each
event, checked against a replay of the log (the store's API), and the page it serves (HTTP): the step's diff,
the tree paged by top-level comments, names opened from the log (so an erasure needs nothing of the index)."""
from __future__ import annotations

import re
import uuid

import pytest

from events.store import NO_STREAM, EventStore
from events.types import CommentDeleted, CommentEdited, CommentPosted, ThreadOpened, VoteCast
from projections import history_index
from projections.snapshots import state_at
from threadlog.commands import Actor, CastVote, DeleteComment, EditComment, ErasePerson, PostComment, handle
from threadlog.moderation.commands import ModerateComment, ModerateThread

ALICE, BOB, MOD = Actor("guest:alice"), Actor("guest:bob"), Actor("user:1", is_staff=True)


@pytest.fixture
def staff(client, live_db, django_user_model, key):
    user = django_user_model.objects.create_user(username=f"indexer-{key}", password="x", is_staff=True)
    client.force_login(user)
    return client


def _story(key: str) -> dict:
    do = handle
    first = do(PostComment(thread=key, body="First", author_name="Alice"), ALICE)
    reply = do(PostComment(thread=key, body="Reply", author_name="Bob", parent_id=first.comment_id), BOB)
    do(CastVote(comment_id=first.comment_id, value=1), BOB)
    do(EditComment(comment_id=first.comment_id, body="First, edited"), ALICE)
    do(ModerateComment(comment_id=reply.comment_id, action="hide", reason="rude"), MOD)
    do(ModerateComment(comment_id=reply.comment_id, action="restore", reason="on reflection"), MOD)
    do(ModerateThread(thread=key, action="close", reason="enough"), MOD)
    do(ModerateThread(thread=key, action="reopen"), MOD)
    do(CastVote(comment_id=first.comment_id, value=-1), BOB)
    do(DeleteComment(comment_id=reply.comment_id), MOD)
    return {"first": first.comment_id, "reply": reply.comment_id}


def _raw_story(store: EventStore, key: str) -> list[str]:
    """Votes, replies, edits, deletions appended straight to a store (either database)."""
    ids = [str(uuid.uuid4()) for _ in range(3)]
    store.append(key, [ThreadOpened(key=key, title="raw")], expected_version=NO_STREAM)
    store.append(key, [CommentPosted(comment_id=ids[0], body="one", author_name="A", author_id="guest:a"),
                       CommentPosted(comment_id=ids[1], body="two", author_name="B", author_id="guest:b",
                                     parent_id=ids[0]),
                       VoteCast(comment_id=ids[0], voter="guest:b", value=1),
                       CommentPosted(comment_id=ids[2], body="three", author_name="A", author_id="guest:a",
                                     parent_id=ids[1]),
                       VoteCast(comment_id=ids[0], voter="guest:c", value=-1),
                       VoteCast(comment_id=ids[0], voter="guest:b", value=0),
                       CommentEdited(comment_id=ids[1], body="two, edited", editor_id="guest:b"),
                       CommentDeleted(comment_id=ids[2], deleted_by="guest:a")])
    return ids


def test_every_row_at_every_position_equals_a_replay_on_either_database(store, key):
    ids = _raw_story(store, key)
    events = store.read_stream(key)
    assert history_index.ensure(store, key) == len(events)
    for ev in events:
        replay = state_at(store, key, ev.position)
        assert history_index.rows_at(store, key, ids, ev.position) == replay.comments, ev.type
        assert history_index.thread_at(store, key, ev.position) == replay.threads[key], ev.type


def test_every_row_at_every_position_equals_a_replay(live_db, key):  # moderation too, by the commands
    ids = list(_story(key).values())
    store = EventStore()
    events = store.read_stream(key)
    assert history_index.ensure(store, key) == len(events)
    assert history_index.ensure(store, key) == 0  # nothing new: nothing done
    for ev in events:
        replay = state_at(store, key, ev.position)
        indexed = history_index.rows_at(store, key, ids, ev.position)
        assert indexed == {cid: row for cid, row in replay.comments.items()}, ev.type
        assert history_index.thread_at(store, key, ev.position) == replay.threads[key], ev.type


def test_the_index_catches_up_from_where_it_stopped(live_db, key):
    ids = _story(key)
    store = EventStore()
    history_index.ensure(store, key)
    history_index.forget_states()  # as in another process: the state comes from a replay, not memory
    handle(EditComment(comment_id=ids["first"], body="Edited again"), ALICE)
    assert history_index.ensure(store, key) == 1
    head = store.head()
    assert history_index.rows_at(store, key, [ids["first"]], head)[ids["first"]].body == "Edited again"
    assert history_index.rows_at(store, key, [ids["first"]], head - 1)[ids["first"]].body == "First, edited"


@pytest.mark.parametrize("online", [True, False], ids=["online", "offline"])
def test_a_rebuild_empties_the_index_and_it_is_made_again_on_demand(live_db, key, online):
    """A rebuild replaces what the old rules made, the history index too (left for its keepers to fill again)."""
    from projections.history_models import HistoryVersion
    from projections.online import rebuild_online
    from projections.rebuild import rebuild

    ids = list(_story(key).values())
    store = EventStore()
    history_index.ensure(store, key)
    before = {ev.position: history_index.rows_at(store, key, ids, ev.position) for ev in store.read_stream(key)}
    assert HistoryVersion.objects.filter(thread_key=key).exists()
    rebuild_online(store) if online else rebuild(store)
    assert not HistoryVersion.objects.exists()
    assert history_index.ensure(store, key) == len(before)  # from the start: no cached state survived
    assert {p: history_index.rows_at(store, key, ids, p) for p in before} == before


def test_the_page_shows_moderation_steps_with_their_reasons(staff, key):
    ids = _story(key)
    store = EventStore()
    hidden = next(e for e in store.read_stream(key) if e.type == "CommentHidden")
    text = staff.get(f"/audit/thread/{key}?at={hidden.position}").content.decode()
    assert "k-moderation" in text and "rude" in text and "status: &#x27;published&#x27; → &#x27;hidden&#x27;" in text
    closed = next(e for e in store.read_stream(key) if e.type == "ThreadClosed")
    text = staff.get(f"/audit/thread/{key}?at={closed.position}").content.decode()
    assert "closed: False → True" in text and "enough" in text


def test_the_tree_is_paged_by_top_level_comments(staff, key):
    posted = [handle(PostComment(thread=key, body=f"Top {i}", author_name="Alice"), ALICE) for i in range(25)]
    handle(PostComment(thread=key, body="Under the last", author_name="Bob", parent_id=posted[-1].comment_id), BOB)
    store = EventStore()
    head = store.head()
    text = staff.get(f"/audit/thread/{key}?at={head}").content.decode()
    # the step replied to the 25th: the page opens at its branch, with earlier comments a link away
    assert "Top 24" in text and "Under the last" in text and "Top 3<" not in text
    earlier = re.search(r'href="(\?at=\d+&amp;from=\d+&amp;back=1#tree-h)"', text).group(1).replace("&amp;", "&")
    text = staff.get(f"/audit/thread/{key}{earlier.split('#')[0]}").content.decode()
    assert "Top 4<" in text and "Top 23<" in text and "Top 24<" not in text and "Top 3<" not in text
    text = staff.get(f"/audit/thread/{key}?at={head}&from=0").content.decode()
    assert "Top 0<" in text and "Top 19<" in text and "Top 20<" not in text and "Later comments" in text
    for odd in ("&from=0&back=1", "&from=-3"):  # nothing before the first: the first page
        assert "Top 0<" in staff.get(f"/audit/thread/{key}?at={head}{odd}").content.decode(), odd
    for odd in ("&from=x", "&back=1"):  # no usable start: as without one
        assert "Top 24<" in staff.get(f"/audit/thread/{key}?at={head}{odd}").content.decode(), odd
    first = staff.get(f"/audit/thread/{key}?at={posted[0].position}").content.decode()
    assert "Top 0<" in first and "Top 1<" not in first  # as it stood then


def test_names_come_from_the_log_so_an_erasure_shows_at_once(staff, key):
    ids = _story(key)
    store = EventStore()
    history_index.ensure(store, key)  # indexed before the erasure
    text = staff.get(f"/audit/thread/{key}?at={store.head()}&from=0").content.decode()
    assert "Alice" in text
    handle(ErasePerson(person="guest:alice", bodies="hidden"), MOD)
    text = staff.get(f"/audit/thread/{key}?at={store.read_stream(key)[-1].position}&from=0").content.decode()
    assert "Alice" not in text and "[erased]" in text and "First, edited" not in text
    assert ids["first"] in text
