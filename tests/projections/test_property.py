"""Property: random posts, replies, votes (switches, retractions), edits and deletes by several actors, driven
through the command handlers, leave a read model that (a) equals a rebuild from position 0 and (b) equals a
plain in-memory model computed here, independently, from the same commands (Zulip's verify_action idea).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import unique_key

ACTORS = ["guest:prop-ann", "guest:prop-bob", "guest:prop-cy", "user:prop-dee", "user:prop-mod"]
STAFF = {"user:prop-mod"}
BODIES = ["hello", "hello", "see https://example.org/a?b=1&c=2.", "<script>x</script> & more", "two\n\nparas",
          "line\nbreak"]

actor = st.integers(0, len(ACTORS) - 1)
target = st.integers(0, 10_000)
body = st.sampled_from(BODIES) | st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                                         max_size=30)
op = st.one_of(
    st.tuples(st.just("post"), actor, st.none(), body),
    st.tuples(st.just("reply"), actor, target, body),
    st.tuples(st.just("vote"), actor, target, st.sampled_from([1, -1, 0])),
    st.tuples(st.just("vote"), actor, target, st.sampled_from([1, -1, 0])),  # votes are the commonest action
    st.tuples(st.just("edit"), actor, target, body),
    st.tuples(st.just("delete"), actor, target, st.none()),
)


@dataclass
class ModelComment:
    id: str
    author: str
    parent: str | None
    depth: int
    body: str
    deleted: bool = False
    votes: dict[str, int] = field(default_factory=dict)
    replies_ever: int = 0

    @property
    def up(self) -> int:
        return sum(1 for v in self.votes.values() if v == 1)

    @property
    def down(self) -> int:
        return sum(1 for v in self.votes.values() if v == -1)


class Model:
    """The thread as a reader expects it, from the commands alone (no projector code)."""

    def __init__(self) -> None:
        self.comments: dict[str, ModelComment] = {}
        self.order: list[str] = []

    def reply_count(self, cid: str) -> int:
        return sum(1 for c in self.comments.values() if c.parent == cid and not c.deleted)

    def comment_count(self) -> int:
        return sum(1 for c in self.comments.values() if not c.deleted)

    def may_change(self, who: str, c: ModelComment) -> bool:
        return who in STAFF or who == c.author


def _run(ops, key: str) -> Model:
    from events.store import EventStore
    from threadlog.commands import Actor, CastVote, CommandError, DeleteComment, EditComment, PostComment, handle

    store = EventStore()
    model = Model()
    actors = [Actor(a, is_staff=a in STAFF) for a in ACTORS]
    for kind, who_i, tgt, arg in [("post", 0, None, "the first comment")] + list(ops):
        who = actors[who_i]
        c = model.comments[model.order[tgt % len(model.order)]] if tgt is not None else None
        before = store.head()
        expect_error: str | None = None
        appended = 1
        if kind in ("post", "reply"):
            if c is not None and c.deleted:
                expect_error = "parent_deleted"
            command = PostComment(thread=key, body=arg, author_name=who.id.split(":")[1],
                                  parent_id=c.id if c else None)
            appended = 2 if not model.comments else 1
        elif kind == "vote":
            if c.deleted:
                expect_error = "comment_deleted"
            elif c.votes.get(who.id, 0) == arg:
                appended = 0
            command = CastVote(comment_id=c.id, value=arg)
        elif kind == "edit":
            if c.deleted:
                expect_error = "comment_deleted"
            elif not model.may_change(who.id, c):
                expect_error = "not_author"
            elif c.body == arg:
                appended = 0
            command = EditComment(comment_id=c.id, body=arg)
        else:
            if c.deleted:
                expect_error = "comment_deleted"
            elif not model.may_change(who.id, c):
                expect_error = "not_author"
            command = DeleteComment(comment_id=c.id)

        try:
            result = handle(command, who)
        except CommandError as exc:
            assert exc.code == expect_error, (kind, exc.code, expect_error)
            assert store.head() == before, "a rejected command appended"
            continue
        assert expect_error is None, (kind, "accepted, expected", expect_error)
        assert store.head() == before + appended, (kind, store.head() - before, appended)

        if kind in ("post", "reply"):
            model.comments[result.comment_id] = ModelComment(
                id=result.comment_id, author=who.id, parent=c.id if c else None,
                depth=c.depth + 1 if c else 0, body=arg)
            model.order.append(result.comment_id)
            if c is not None:
                c.replies_ever += 1
        elif kind == "vote":
            c.votes[who.id] = arg
        elif kind == "edit":
            c.body = arg
        else:
            c.deleted = True
            c.body = ""
    return model


def _check_read_model(model: Model, key: str) -> None:
    from projections.models import CommentView, ThreadView

    thread = ThreadView.objects.get(pk=key)
    assert thread.comment_count == model.comment_count()
    rows = {r.id: r for r in CommentView.objects.filter(thread_key=key)}
    assert set(rows) == set(model.comments)
    for cid, c in model.comments.items():
        r = rows[cid]
        got = (r.parent_id, r.depth, r.author_id, r.deleted, r.body, r.up, r.down, r.score, r.reply_count)
        want = (c.parent, c.depth, c.author, c.deleted, c.body, c.up, c.down, c.up - c.down, model.reply_count(cid))
        assert got == want, (cid, got, want)
        assert (r.body_html == "") == (c.deleted or not c.body.strip())


def _check_tree(model: Model, key: str) -> None:
    """The page a reader gets: every live comment under its parent, no deleted leaf, replies oldest first."""
    from events.store import EventStore
    from projections import queries

    thread = queries.thread_summary(key=key)
    page = queries.comments_page(thread=thread, sort="oldest", cursor=None, limit=queries.MAX_LIMIT)
    shown: dict[str, str | None] = {}

    def walk(nodes, parent):
        ids = [n["id"] for n in nodes]
        positions = [model.order.index(i) for i in ids]
        assert positions == sorted(positions), "replies and `oldest` tops are in posting order"
        for n in nodes:
            shown[n["id"]] = parent
            c = model.comments[n["id"]]
            assert n["deleted"] == c.deleted and n["score"] == c.up - c.down
            walk(n["replies"], n["id"])

    walk(page.comments, None)
    for cid, c in model.comments.items():
        if not c.deleted:
            assert shown.get(cid, "missing") == c.parent, f"live comment {cid} not under its parent"
        elif c.replies_ever == 0:
            assert cid not in shown, "a deleted comment that never had replies is shown"
    past = queries.comments_page_at(EventStore(), key=key, position=thread.last_position, sort="oldest", cursor=None,
                                    limit=queries.MAX_LIMIT)
    assert past.comments == page.comments and past.comment_count == page.comment_count


@settings(max_examples=50, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(op, min_size=1, max_size=40))
def test_live_equals_rebuild_and_independent_model(live_db, ops):
    from events.store import EventStore
    from projections.rebuild import verify

    key = unique_key("prop")
    model = _run(ops, key)
    _check_read_model(model, key)
    _check_tree(model, key)
    difference = verify(EventStore())
    assert difference is None, str(difference)
