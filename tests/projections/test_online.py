"""The online rebuild (`projections rebuild`): new tables filled while writes continue, then a switch under a short
lock. Whatever is appended during the rebuild — while threads are folded, between catch-up rounds, right before
the switch — is in the new read model, which equals a replay of the log (`verify`), on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest

import projections.online as online
from events.moderation import CommentApproved, CommentHeld, CommentReported, PersonBanned
from events.people import seal
from events.store import ANY
from events.formats import CommentPosted
from events.types import ThreadOpened, VoteCast
from projections.base import checkpoint, project_pending
from projections.models import CommentView, LiveFrame, ThreadView, VoteView
from projections.queue_models import Ban, QueueItem
from projections.rebuild import verify


def _thread(store, key: str, n: int = 4) -> list[str]:
    using = store.using
    ids = [str(uuid.uuid4()) for _ in range(n)]
    events: list = [ThreadOpened(key=key, title=key)]
    for i, cid in enumerate(ids):
        person = f"guest:on-{i % 2}-{key}"
        events.append(CommentPosted(comment_id=cid, body=f"**{i}** https://example.org/{i}", author_id=person,
                                    parent_id=ids[0] if i == 2 else None, format="markdown",
                                    sealed_author=seal(person, {"name": f"Reader {i}"}, using=using)))
    events += [CommentHeld(comment_id=ids[-1], reason="first"), VoteCast(comment_id=ids[0], voter="guest:v", value=1)]
    store.append(key, events)
    project_pending(store)
    return ids


def _post(store, key: str, body: str) -> str:
    cid = str(uuid.uuid4())
    store.append(key, [CommentPosted(comment_id=cid, body=body, author_id="guest:on-late")], expected_version=ANY)
    project_pending(store)
    return cid


@pytest.mark.parametrize("using", ["default", "postgres"], ids=["sqlite", "postgres"])
def test_writes_during_an_online_rebuild_are_all_in_the_new_read_model(live_db, key, monkeypatch, using):
    from events.store import EventStore

    store = EventStore(using)
    keys = [f"{key}-{i}" for i in range(3)]
    threads = {k: _thread(store, k) for k in keys}
    store.append("system:moderation", [PersonBanned(ban_id=str(uuid.uuid4()), scope="person",
                                                    subject=f"guest:on-1-{keys[0]}", moderator="user:1")],
                 expected_version=ANY)
    project_pending(store)
    # Small passes (each thread its own), catch-up rounds for every event, a second process for the bodies.
    monkeypatch.setattr(online, "FOLD_EVENTS", 1)
    monkeypatch.setattr(online, "SWITCH_EVENTS", 1)
    monkeypatch.setattr(online, "CHUNK_ROWS", 2)
    late: list[str] = []
    folded = []

    def during_fold(position: int) -> None:  # appended (and projected into the old tables) mid-pass
        folded.append(position)
        if len(folded) in (3, 12):
            late.append(_post(store, keys[1], f"during the fold {len(folded)}"))

    def before_switch() -> None:  # appended after the catch-up rounds: applied under the lock by the live projector
        late.append(_post(store, keys[2], "right before the switch"))
        store.append(keys[0], [CommentApproved(comment_id=threads[keys[0]][-1], moderator="user:1"),
                               CommentReported(comment_id=threads[keys[0]][1], reporter="guest:r", reason="spam")],
                     expected_version=ANY)
        project_pending(store)

    head = online.rebuild_online(store, progress=during_fold, before_switch=before_switch)
    assert head == store.head() == checkpoint(using=using)
    rows = {c.id: c for c in CommentView.objects.using(using).filter(thread_key__in=keys)}
    assert set(late) <= set(rows) and len(late) == 3
    assert rows[threads[keys[0]][-1]].status == "published"  # approved right before the switch
    assert QueueItem.objects.using(using).filter(comment_id=threads[keys[0]][1]).get().reports == 1
    assert Ban.objects.using(using).filter(subject=f"guest:on-1-{keys[0]}").exists()
    assert ThreadView.objects.using(using).get(key=keys[1]).comment_count == 5  # 3 public of 4, and 2 posted meanwhile
    assert VoteView.objects.using(using).filter(comment_id=threads[keys[0]][0]).count() == 1
    assert LiveFrame.objects.using(using).filter(thread_key=keys[2]).count() == store.stream_version(keys[2])
    assert verify(store) is None
    # The new tables have every index the migrations made, under their names or the alternate ones.
    online.rebuild_online(store)
    assert verify(store) is None


def test_an_online_rebuild_repairs_a_drifted_read_model(live_db, key):
    from events.store import EventStore

    store = EventStore()
    ids = _thread(store, key)
    CommentView.objects.filter(pk=ids[1]).update(up=7)
    assert verify(store) is not None
    online.rebuild_online(store)
    assert CommentView.objects.get(pk=ids[1]).up == 0
    assert verify(store) is None


def test_index_names_alternate_on_sqlite_and_an_offline_rebuild_restores_them(live_db, key):
    from django.db import connection

    from events.store import EventStore
    from projections.rebuild import rebuild

    def names() -> set[str]:
        with connection.cursor() as cur:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'threadlog_comment'"
                        " AND sql IS NOT NULL")
            return {n for (n,) in cur.fetchall()}

    own = {index.name for index in CommentView._meta.indexes}
    store = EventStore()
    _thread(store, key)
    first = names()
    online.rebuild_online(store)
    second = names()
    assert {n.removesuffix("__r") for n in second} == own and second != first  # the other set of names
    rebuild(store)  # offline: in place, under their own names
    assert names() == own
    assert verify(store) is None


def test_the_old_indexes_go_without_secure_delete_and_the_setting_is_restored(live_db, key, monkeypatch):
    """SQLite: the old tables' indexes, and the tables without names, are dropped with secure_delete off (their keys
    are all in the raw log), the tables with author names (comments, frames, snapshots, history) as the connection is
    set up; the connection's setting is as it was afterwards."""
    from django.db import connection

    from events.store import EventStore

    def secure_delete() -> int:
        with connection.cursor() as cur:
            cur.execute("PRAGMA secure_delete")
            return cur.fetchone()[0]

    dropped: list[tuple[str, int]] = []
    real_exec = online._exec

    def spying(using, sql, params=()):
        if sql.startswith("DROP INDEX"):
            dropped.append(("INDEX", secure_delete()))
        elif sql.startswith("DROP TABLE") and "__old" in sql:
            named = any(f'"{table}__old"' in sql for table in ("threadlog_comment", "threadlog_frame",
                                                               "threadlog_snapshot", "threadlog_history_version"))
            dropped.append(("NAMED" if named else "TABLE", secure_delete()))
        return real_exec(using, sql, params)

    monkeypatch.setattr(online, "_exec", spying)
    store = EventStore()
    _thread(store, key)
    online.rebuild_online(store)  # the old tables now hold rows
    for setting in (1, 0):
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA secure_delete = {setting}")
        dropped.clear()
        online.rebuild_online(store)
        assert {kind for kind, _ in dropped} == {"INDEX", "TABLE", "NAMED"}
        assert all(value == 0 for kind, value in dropped if kind in ("INDEX", "TABLE"))
        assert sum(kind == "NAMED" for kind, _ in dropped) == 4
        assert all(value == setting for kind, value in dropped if kind == "NAMED")
        assert secure_delete() == setting
    assert verify(store) is None


def test_the_rebuilt_tables_have_planner_statistics_on_postgresql(live_db, key):
    """A fresh table has none: until autovacuum's turn, PostgreSQL planned a thread's pinned comments through a sort
    index (40 ms for the first page of a 30,000-comment thread instead of 0.1)."""
    from django.db import connections

    from events.store import EventStore
    from projections.online import rebuild_online

    store = EventStore("postgres")
    store.append(key, [ThreadOpened(key=key, title=key),
                       CommentPosted(comment_id=str(uuid.uuid4()), body="x", author_id="guest:stats")],
                 expected_version=ANY)
    rebuild_online(store)
    with connections["postgres"].cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stats WHERE schemaname = current_schema()"
                    " AND tablename = 'threadlog_comment' AND attname = 'thread_key'")
        assert cur.fetchone()[0] == 1


def test_old_tables_left_for_the_command_are_dropped_by_an_erasure_first(live_db, key):
    """SQLite, `drop_old=False` (as `threadlog projections rebuild` runs it: it reports, then drops them): until the old
    tables are dropped they hold the author names as they were; an erasure that comes first drops them in its own
    transaction, zeroing their pages, so no copy of the name is left in the file (checked in the file's bytes)."""
    from django.db import connection

    from events.store import EventStore
    from events.types import PersonErased

    store = EventStore()
    using = store.using
    name = f"Unmistakable {uuid.uuid4().hex}"
    person = f"guest:erase-{key}"
    store.append(key, [ThreadOpened(key=key, title=key),
                       CommentPosted(comment_id=str(uuid.uuid4()), body="hello", author_id=person,
                                     sealed_author=seal(person, {"name": name}, using=using))], expected_version=ANY)
    project_pending(store)
    online.rebuild_online(store, drop_old=False)
    assert set(online.old_tables(using)) >= {"threadlog_comment__old", "threadlog_frame__old"}
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM threadlog_comment__old WHERE author_name = %s", [name])
        assert cur.fetchone()[0] == 1
    from events.people import erase_key

    erase_key(person, using=using)
    store.append("system:people", [PersonErased(person=person)], expected_version=ANY)
    project_pending(store)
    assert online.old_tables(using) == []
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(connection.settings_dict["NAME"], "rb") as f:
        assert name.encode() not in f.read()
    assert verify(store) is None
    assert online.drop_old_tables(using) == 0  # nothing left for the command
