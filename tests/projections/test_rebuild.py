"""verify() notices a live read model that drifted from the log, and rebuild() repairs it."""
from __future__ import annotations

import time

from events.store import EventStore
from projections.models import CommentView, ThreadView
from projections.rebuild import rebuild, verify
from threadlog.commands import Actor, CastVote, DeleteComment, PostComment, handle


def _thread(key):
    ann, bob = Actor("guest:rb-ann"), Actor("guest:rb-bob")
    a = handle(PostComment(thread=key, body="a", author_name="Ann"), ann).comment_id
    b = handle(PostComment(thread=key, body="b", author_name="Bob", parent_id=a), bob).comment_id
    handle(CastVote(comment_id=a, value=1), bob)
    handle(CastVote(comment_id=b, value=-1), ann)
    handle(DeleteComment(comment_id=a), ann)
    return a, b


def test_verify_detects_drift_and_rebuild_repairs(live_db, key):
    a, b = _thread(key)
    store = EventStore()
    assert verify(store) is None
    CommentView.objects.filter(pk=b).update(up=5)  # a projector bug, simulated
    diff = verify(store)
    assert diff is not None and diff.table == "comment" and diff.key == b
    head = rebuild(store)
    assert head == store.head()
    assert verify(store) is None
    row = CommentView.objects.get(pk=b)
    assert (row.up, row.down, row.score) == (0, 1, -1)
    ThreadView.objects.filter(pk=key).update(comment_count=99)
    diff = verify(store)
    assert diff is not None and diff.table == "thread" and diff.key == key
    rebuild(store)
    assert ThreadView.objects.get(pk=key).comment_count == 1
    a_row = CommentView.objects.get(pk=a)
    assert a_row.deleted and a_row.reply_count == 1 and a_row.up == 1
    assert verify(store) is None


def test_writes_after_rebuild_continue_from_the_checkpoint(live_db, key):
    a, b = _thread(key)
    store = EventStore()
    rebuild(store)
    c = handle(PostComment(thread=key, body="c", author_name="Cy", parent_id=b), Actor("guest:rb-cy")).comment_id
    assert CommentView.objects.get(pk=c).depth == 2
    assert CommentView.objects.get(pk=b).reply_count == 1
    assert ThreadView.objects.get(pk=key).comment_count == 2
    assert verify(store) is None


def test_a_rebuild_rendering_in_a_second_process_writes_what_the_live_path_wrote(live_db, key, monkeypatch):
    """Large logs render bodies and open sealed names mostly in `projections.render_worker`; force that path on a
    small thread whose bodies hold links, markup, paragraphs and an edit, with an author erased (bodies hidden),
    and compare every row with the live one. This process is made slow, so both it and the helper do batches."""
    import projections.offload as offload
    from threadlog.commands import EditComment, ErasePerson

    ann, eve = Actor(f"guest:rb-render-{key}"), Actor(f"guest:rb-eve-{key}")
    bodies = ["see https://example.com/a?b=1&c=2 (and http://x.org/y).", "<b>not bold</b> & co\n\nsecond para",
              "plain", "www.example.com is not a link, https://ok.example/ is", "ünïcode ✓ https://ü.example/ä"]
    ids = [handle(PostComment(thread=key, body=b, author_name=f"Ann {i}"), ann).comment_id
           for i, b in enumerate(bodies)]
    handle(PostComment(thread=key, body="Eve was here", author_name="Eve"), eve)
    handle(EditComment(comment_id=ids[2], body="edited https://example.org/edit"), ann)
    handle(ErasePerson(person=eve.id, bodies="hidden"), Actor("user:1", is_staff=True))
    live = {c.id: (c.author_name, c.body, c.body_html) for c in CommentView.objects.filter(thread_key=key)}
    assert "<a href=" in live[ids[2]][2]
    assert sorted(name for name, _, _ in live.values()) == ["Ann 0", "Ann 1", "Ann 2", "Ann 3", "Ann 4", "[erased]"]

    monkeypatch.setattr(offload, "PARALLEL_MIN", 1)
    monkeypatch.setattr(offload, "JOBS_PER_BATCH", 2)
    helpers, here = [], []
    real_start, real_send, real_work = offload.Helper.start, offload.Helper.send, offload.work

    def start():
        helpers.append(real_start())
        return helpers[-1]

    def send(self, message, batch=-1):  # the helper is sent batch 0 at once; the rest wait in the queue
        if batch <= 0:
            return real_send(self, message, batch)
        self._queue.append((batch, offload.orjson.dumps(message) + b"\n"))
        return True

    def slow_work(jobs, key_of):  # this process takes batches back only once the helper has answered one
        while helpers[-1].answered == 0 and helpers[-1].poll():
            time.sleep(0.001)
        here.append(len(jobs))
        return real_work(jobs, key_of)

    monkeypatch.setattr(offload.Helper, "start", staticmethod(start))
    monkeypatch.setattr(offload.Helper, "send", send)
    monkeypatch.setattr(offload.Helper, "pump", lambda self: None)
    monkeypatch.setattr(offload, "work", slow_work)
    store = EventStore()
    rebuild(store)
    assert helpers and helpers[0].answered and here  # both processes did some of the work
    assert {c.id: (c.author_name, c.body, c.body_html) for c in CommentView.objects.filter(thread_key=key)} == live
    assert verify(store) is None


def test_a_rebuild_on_postgres_with_its_second_process_equals_the_live_read_model(live_db, key, monkeypatch):
    """The same two-process rebuild on PostgreSQL: sealed names, links, a reply, a vote and an edit, written
    through the store and projected live, then rebuilt in batches of three jobs and compared row by row."""
    import uuid

    import projections.offload as offload
    from events.people import seal
    from events.types import CommentEdited, CommentPosted, ThreadOpened, VoteCast
    from projections.base import project_pending

    store, using = EventStore("postgres"), "postgres"
    ids = [str(uuid.uuid4()) for _ in range(7)]
    events = [ThreadOpened(key=key, title="pg")]
    for i, cid in enumerate(ids):
        person = f"guest:pg-{i % 3}-{key}"
        events.append(CommentPosted(comment_id=cid, body=f"comment {i} https://example.org/{i}", author_id=person,
                                    parent_id=ids[0] if i == 4 else None,
                                    sealed_author=seal(person, {"name": f"Reader {i}"}, using=using)))
    events += [VoteCast(comment_id=ids[1], voter="guest:v", value=1),
               CommentEdited(comment_id=ids[2], body="edited <b>", editor_id=f"guest:pg-2-{key}")]
    store.append(key, events)
    project_pending(store)
    live = {c.id: (c.author_name, c.body_html, c.up, c.reply_count)
            for c in CommentView.objects.using(using).filter(thread_key=key)}
    assert live[ids[2]][1] == "<p>edited &lt;b&gt;</p>" and live[ids[0]][3] == 1 and live[ids[1]][2] == 1

    monkeypatch.setattr(offload, "PARALLEL_MIN", 1)
    monkeypatch.setattr(offload, "JOBS_PER_BATCH", 3)
    rebuild(store)
    assert {c.id: (c.author_name, c.body_html, c.up, c.reply_count)
            for c in CommentView.objects.using(using).filter(thread_key=key)} == live
    assert verify(store) is None
