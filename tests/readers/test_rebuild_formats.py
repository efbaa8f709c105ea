"""Formats are part of the projection: a rebuild (rendering in its second process) and time travel give the
HTML the live path gave, for Markdown and plain bodies, edits that change the format, and old (v2) events."""
from __future__ import annotations

import uuid

from events.store import EventStore
from projections.models import CommentView
from projections.queries import comments_page_at
from projections.rebuild import rebuild, verify
from threadlog.commands import Actor, EditComment, PostComment, handle


def test_rebuild_and_time_travel_render_each_format_as_live(live_db, key, monkeypatch):
    import projections.offload as offload
    from events.types import CommentPosted as CommentPostedV2
    from projections.base import project_pending

    ann = Actor(f"guest:fmt-{key}")
    bodies = [("**bold** and a [link](https://example.org/x)", "markdown"), ("**not bold**", "plain"),
              ("> quoted\n\n- a\n- b", "markdown"), ("just words, as plain text did", "markdown"),
              ("```\n<b>code</b>\n```", "markdown")]
    ids = [handle(PostComment(thread=key, body=b, author_name="Ann", format=f), ann).comment_id for b, f in bodies]
    handle(EditComment(comment_id=ids[1], body="**not bold**", format="markdown"), ann)  # same body, new format
    handle(EditComment(comment_id=ids[0], body="*now plain*", format="plain"), ann)
    store = EventStore()
    old = str(uuid.uuid4())
    with store.write_transaction():
        store.append(key, [CommentPostedV2(comment_id=old, body="*v2 body*", author_id="guest:old", author_name="Old")])
        project_pending(store)
    live = {c.id: (c.format, c.body_html) for c in CommentView.objects.filter(thread_key=key)}
    assert live[ids[1]] == ("markdown", "<p><strong>not bold</strong></p>")
    assert live[ids[0]] == ("plain", "<p>*now plain*</p>")
    assert live[old] == ("plain", "<p>*v2 body*</p>")
    assert live[ids[4]][1] == "<pre><code>&lt;b&gt;code&lt;/b&gt;\n</code></pre>"

    # time travel: rendered on display from the row's body and format
    at = comments_page_at(store, key=key, position=store.head(), sort="oldest", cursor=None, limit=50)
    assert {c["id"]: (c["format"], c["body_html"]) for c in at.comments} == live

    monkeypatch.setattr(offload, "PARALLEL_MIN", 1)  # render in the second process, in small batches
    monkeypatch.setattr(offload, "JOBS_PER_BATCH", 2)
    rebuild(store)
    assert {c.id: (c.format, c.body_html) for c in CommentView.objects.filter(thread_key=key)} == live
    assert verify(store) is None
