"""verify() notices a live read model that drifted from the log, and rebuild() repairs it."""
from __future__ import annotations

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
    """Large logs render most bodies in `projections.render_worker`; force that path on a small thread whose
    bodies hold links, markup, paragraphs and an edit, and compare every row with the live one."""
    import projections.rebuild as rebuild_module

    ann = Actor("guest:rb-render")
    bodies = ["see https://example.com/a?b=1&c=2 (and http://x.org/y).", "<b>not bold</b> & co\n\nsecond para",
              "plain", "www.example.com is not a link, https://ok.example/ is", "ünïcode ✓ https://ü.example/ä"]
    ids = [handle(PostComment(thread=key, body=b, author_name="Ann"), ann).comment_id for b in bodies]
    from threadlog.commands import EditComment
    handle(EditComment(comment_id=ids[2], body="edited https://example.org/edit"), ann)
    live = {c.id: (c.body, c.body_html) for c in CommentView.objects.filter(thread_key=key)}
    assert "<a href=" in live[ids[2]][1]

    monkeypatch.setattr(rebuild_module, "PARALLEL_RENDER_MIN", 1)
    started = []
    real_start = rebuild_module._start_render_worker
    monkeypatch.setattr(rebuild_module, "_start_render_worker", lambda b: started.append(len(b)) or real_start(b))
    store = EventStore()
    rebuild(store)
    assert started and started[0] > 0
    assert {c.id: (c.body, c.body_html) for c in CommentView.objects.filter(thread_key=key)} == live
    assert verify(store) is None
