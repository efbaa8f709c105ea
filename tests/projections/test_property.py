"""Property: random posts, replies, votes (switches, retractions), edits and deletes by several actors, and
moderation (held posts, every moderator action, reports up to a hold), driven
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

LINKS = "now with http://a.example http://b.example http://c.example"
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
    st.tuples(st.just("edit"), actor, target, st.just(LINKS)),  # an edit that breaks the links rule: held
    st.tuples(st.just("delete"), actor, target, st.none()),
    st.tuples(st.just("held"), actor, st.none() | target, body),  # posted while MODERATION=all
    st.tuples(st.just("moderate"), st.sampled_from([4, 4, 4, 0]), target,
              st.sampled_from(["approve", "reject", "hide", "restore", "spam", "pin", "unpin"])),
    st.tuples(st.just("report"), actor, target, st.sampled_from(["spam", "abuse"])),
)
REPORTS_TO_HOLD = 3
# moderator action -> (status after, statuses it changes): mirrors the rules in docs/moderation.md
STATUS_ACTIONS = {"approve": ("published", {"pending", "rejected", "spam"}),
                  "reject": ("rejected", {"pending", "published", "hidden", "spam"}),
                  "hide": ("hidden", {"published", "pending"}),
                  "restore": ("published", {"hidden", "rejected", "spam"}),
                  "spam": ("spam", {"pending", "published", "hidden", "rejected"})}


@dataclass
class ModelComment:
    id: str
    author: str
    parent: str | None
    depth: int
    body: str
    deleted: bool = False
    votes: dict[str, int] = field(default_factory=dict)
    replies_ever: int = 0  # replies that have been public (keep it as a tombstone)
    status: str = "published"
    shown: bool = True
    pinned: int = 0  # pin order
    reporters: set = field(default_factory=set)
    reports: int = 0  # since the last decision

    @property
    def public(self) -> bool:
        return self.status == "published" and not self.deleted

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
        return sum(1 for c in self.comments.values() if c.parent == cid and c.public)

    def comment_count(self) -> int:
        return sum(1 for c in self.comments.values() if c.public)

    def set_status(self, c: ModelComment, status: str) -> None:
        c.status = status
        if c.public and not c.shown:  # first time public: enters the thread now, at the end
            c.shown = True
            self.order.remove(c.id)
            self.order.append(c.id)
            if c.parent:
                self.comments[c.parent].replies_ever += 1

    def may_change(self, who: str, c: ModelComment) -> bool:
        return who in STAFF or who == c.author


def breaks_links(body: str) -> bool:
    from threadlog.moderation.rules import content_reason  # the command side's rule (MODERATION_WORDS is empty)

    return content_reason(body) == "links"


def _run(ops, key: str) -> Model:
    from django.conf import settings as django_settings

    from events.store import EventStore
    from threadlog.commands import Actor, CastVote, CommandError, DeleteComment, EditComment, PostComment, handle
    from threadlog.moderation.commands import ModerateComment, ReportComment

    store = EventStore()
    model = Model()
    actors = [Actor(a, is_staff=a in STAFF) for a in ACTORS]
    pins = 0
    for kind, who_i, tgt, arg in [("post", 0, None, "the first comment")] + list(ops):
        who = actors[who_i]
        c = model.comments[model.order[tgt % len(model.order)]] if tgt is not None else None
        before = store.head()
        expect_error: str | None = None
        appended = 1
        held = kind == "held" and who.id not in STAFF
        if kind in ("post", "reply", "held"):
            if c is not None and c.deleted:
                expect_error = "parent_deleted"
            elif c is not None and c.status != "published":
                expect_error = "parent_not_published"
            command = PostComment(thread=key, body=arg, author_name=who.id.split(":")[1],
                                  parent_id=c.id if c else None)
            appended = (2 if not model.comments else 1) + held
        elif kind == "moderate":
            command = ModerateComment(comment_id=c.id, action=arg)
            if who.id not in STAFF:
                expect_error = "staff_only"
            elif c.deleted:
                expect_error = "comment_deleted" if arg in ("approve", "restore", "pin") else None
                appended = 0
            elif arg in STATUS_ACTIONS:
                appended = int(c.status in STATUS_ACTIONS[arg][1])
            elif arg == "pin":
                if c.pinned:
                    appended = 0
                elif c.depth > 0:
                    expect_error = "cannot_pin_reply"
                elif c.status != "published":
                    expect_error = "comment_not_published"
                elif sum(1 for x in model.comments.values() if x.pinned) >= 3:
                    expect_error = "too_many_pinned"
            else:
                appended = int(bool(c.pinned))
        elif kind == "report":
            command = ReportComment(comment_id=c.id, reason=arg)
            if c.deleted or (c.status != "published" and who.id not in STAFF):
                expect_error = "comment_not_found"
            elif who.id in c.reporters:
                appended = 0
            elif c.status == "published" and c.reports + 1 >= REPORTS_TO_HOLD:
                appended = 2
        elif kind == "vote":
            if c.deleted:
                expect_error = "comment_deleted"
            elif c.status != "published":
                expect_error = "comment_not_published"
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
            elif who.id not in STAFF and c.status == "published" and breaks_links(arg) and not breaks_links(c.body):
                appended = 2  # CommentHeld (edit_links), then the edit
            command = EditComment(comment_id=c.id, body=arg)
        else:
            if c.deleted:
                expect_error = "comment_deleted"
            elif not model.may_change(who.id, c):
                expect_error = "not_author"
            command = DeleteComment(comment_id=c.id)

        mode = django_settings.THREADLOG["MODERATION"]
        django_settings.THREADLOG["MODERATION"] = "all" if kind == "held" else "off"
        try:
            result = handle(command, who)
        except CommandError as exc:
            assert exc.code == expect_error, (kind, exc.code, expect_error)
            assert store.head() == before, "a rejected command appended"
            continue
        finally:
            django_settings.THREADLOG["MODERATION"] = mode
        assert expect_error is None, (kind, "accepted, expected", expect_error)
        assert store.head() == before + appended, (kind, store.head() - before, appended)

        if kind in ("post", "reply", "held"):
            model.comments[result.comment_id] = ModelComment(
                id=result.comment_id, author=who.id, parent=c.id if c else None,
                depth=c.depth + 1 if c else 0, body=arg, status="pending" if held else "published", shown=not held)
            model.order.append(result.comment_id)
            if c is not None and not held:
                c.replies_ever += 1
        elif kind == "moderate":
            if appended and arg in STATUS_ACTIONS:
                model.set_status(c, STATUS_ACTIONS[arg][0])
                c.reports = 0
            elif appended and arg == "pin":
                pins += 1
                c.pinned = pins
            elif appended:
                c.pinned = 0
        elif kind == "report":
            if appended:
                c.reporters.add(who.id)
                c.reports += 1
            if appended == 2:
                model.set_status(c, "pending")
        elif kind == "vote":
            c.votes[who.id] = arg
        elif kind == "edit":
            c.body = arg
            if appended == 2:
                model.set_status(c, "pending")
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
        got = (r.parent_id, r.depth, r.author_id, r.deleted, r.body, r.up, r.down, r.score, r.reply_count, r.status,
               r.pinned > 0)
        want = (c.parent, c.depth, c.author, c.deleted, c.body, c.up, c.down, c.up - c.down, model.reply_count(cid),
                c.status, c.pinned > 0)
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
        if parent is None:  # pinned first, in pin order
            pinned = [i for i in ids if model.comments[i].pinned]
            assert ids[:len(pinned)] == sorted(pinned, key=lambda i: model.comments[i].pinned)
            ids = ids[len(pinned):]
        positions = [model.order.index(i) for i in ids]
        assert positions == sorted(positions), "replies and `oldest` tops are in posting order"
        for n in nodes:
            shown[n["id"]] = parent
            c = model.comments[n["id"]]
            assert n["deleted"] == (not c.public) and n["score"] == c.up - c.down
            walk(n["replies"], n["id"])

    walk(page.comments, None)
    for cid, c in model.comments.items():
        if c.public:
            assert shown.get(cid, "missing") == c.parent, f"live comment {cid} not under its parent"
        elif c.replies_ever == 0:
            assert cid not in shown, "a deleted or withheld comment that never had public replies is shown"
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
