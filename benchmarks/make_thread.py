"""Create an N-comment thread through the real write path: events appended by the event store, then projected.

    .venv/bin/python benchmarks/make_thread.py [--key KEY] [--comments N] [--replies F] [--votes V] [--seed S]

Comments are top-level or (a fraction F) replies to an earlier comment of the thread, up to 4 levels deep;
half the bodies are Markdown and a tenth of those use it (MARKDOWN_SHARE, MARKUP_SHARE: most comments are plain sentences);
V votes (+1 or -1, each by its own voter on a comment) are spread over the comments, more on early ones.
Events are appended in batches (`--batch`, one append = one transaction with the expected stream version),
then the projections are brought up to the head: by a full rebuild when the log held nothing else before
(fast: a replay into memory and bulk inserts), else by the catch-up runner (`threadlog projections run`).

Reusable from tests and other benchmarks (Django set up by the caller):

    from benchmarks.make_thread import make_thread
    make_thread("bench-1k", comments=1000)
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("thread comment reply vote sort page read model event log projection position stream version "
         "https://example.org/a link ok yes no maybe because").split()
# Formatted bodies, as the page's form writes them: half the comments are Markdown (MARKDOWN_SHARE), and a few of
# those use it (MARKUP_SHARE of them: a quote, emphasis, code, a link or a list); the rest is plain text.
MARKDOWN_SHARE = 0.5
MARKUP_SHARE = 0.1
# With `moderation=True` (benchmarks/rebuild.py), what a moderated site's log holds besides: HELD_SHARE of the comments
# wait for review (CommentHeld right after their CommentPosted, as the write path appends them), and a later
# decision approves most (the rest are rejected or marked spam); REPORTED_SHARE of the comments are reported by a
# reader, HIDDEN_SHARE hidden by a moderator, and a few pinned.
HELD_SHARE = 0.04
REPORTED_SHARE = 0.01
HIDDEN_SHARE = 0.003
PINNED = 3
MARKUP = ("> {q}\n\n{b}", "{b} **{q}**", "*{q}* {b}", "{b} `{q}`", "[{q}](https://example.org/{q}) {b}",
          "{b}\n\n- {q}\n- {q}")


def setup_django(migrate: bool = True) -> None:
    """sys.path, DJANGO_SETTINGS_MODULE (DATABASE_URL picks the database), django.setup(), migrate."""
    for p in (str(ROOT), str(ROOT / "platform")):
        if p not in sys.path:
            sys.path.insert(0, p)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threadlog.settings")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def sqlite_django(db: str | None, prefix: str) -> tuple[Path, "tempfile.TemporaryDirectory | None"]:
    """Point Django at the SQLite file `db` (or a temporary one), set it up and migrate.

    Returns the file and the temporary folder (None for `db`), which the caller cleans up when done."""
    tmp = None
    if db:
        path = Path(db).resolve()
    else:
        tmp = tempfile.TemporaryDirectory(prefix=f"threadlog-{prefix}-")
        path = Path(tmp.name) / f"{prefix}.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("THREADLOG_VAR", str(path.parent))
    setup_django()
    return path, tmp


def thread_events(key: str, comments: int, *, replies: float = 0.3, votes: int | None = None, seed: int = 0,
                  title: str = "", using: str = "default", moderation: bool = False) -> list:
    """The events of a thread with `comments` comments and `votes` votes (default: one per two comments), and with
    `moderation` the moderation events of HELD_SHARE, REPORTED_SHARE, HIDDEN_SHARE and PINNED.

    Like the write path's, each comment's author name and email are sealed with the author's key (one key per
    author, created in `using`), so reading them back costs what it costs on a real log."""
    from events.people import seal
    from events.formats import CommentPosted
    from events.moderation import (CommentApproved, CommentHeld, CommentHidden, CommentMarkedSpam, CommentPinned,
                                   CommentRejected, CommentReported)
    from events.types import ThreadOpened, VoteCast

    rng = random.Random(seed)
    votes = comments // 2 if votes is None else votes
    out: list = [ThreadOpened(key=key, title=title or f"benchmark thread {key}")]
    ids: list[str] = []
    depth: dict[str, int] = {}
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"threadlog-bench:{key}:{seed}")
    vote_every = comments / votes if votes else 0.0
    next_vote, cast = vote_every, set()
    held: list[tuple[int, str]] = []  # (decided after comment number, comment id)
    staff = "user:1"
    for i in range(comments):
        cid = str(uuid.uuid5(namespace, str(i)))
        parent = None
        if ids and rng.random() < replies:
            candidate = ids[int(len(ids) * rng.random() ** 0.5)]  # newer comments get more replies
            if depth[candidate] < 4:
                parent = candidate
        depth[cid] = depth[parent] + 1 if parent else 0
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30)))
        fmt = "markdown" if rng.random() < MARKDOWN_SHARE else "plain"
        if fmt == "markdown" and rng.random() < MARKUP_SHARE:
            body = rng.choice(MARKUP).format(q=rng.choice(WORDS[:14]), b=body)
        author = rng.randrange(max(comments // 10, 1))
        person = f"guest:bench{author}"  # the name sealed with the person's key, as the write path does
        sealed = seal(person, {"name": f"reader {author}", "email": f"reader{author}@example.com"}, using=using)
        out.append(CommentPosted(comment_id=cid, body=body, author_id=person, parent_id=parent, sealed_author=sealed,
                                 format=fmt))
        ids.append(cid)
        if moderation:
            if rng.random() < HELD_SHARE:
                out.append(CommentHeld(comment_id=cid, reason=rng.choice(("first", "links", "premoderation"))))
                held.append((i + rng.randint(1, 200), cid))
            while held and held[0][0] <= i:
                _, decided = held.pop(0)
                roll = rng.random()
                decision = CommentApproved if roll < 0.75 else CommentRejected if roll < 0.95 else CommentMarkedSpam
                out.append(decision(comment_id=decided, moderator=staff, reason=""))
            if rng.random() < REPORTED_SHARE:
                out.append(CommentReported(comment_id=ids[int(len(ids) * rng.random())], reporter=f"guest:voter{i}",
                                           reason=rng.choice(("spam", "abuse", "off_topic", "other"))))
            if rng.random() < HIDDEN_SHARE:
                out.append(CommentHidden(comment_id=ids[int(len(ids) * rng.random())], moderator=staff,
                                         reason="off topic"))
            if i < PINNED:
                out.append(CommentPinned(comment_id=cid, moderator=staff, reason=""))
        # Votes interleaved with the comments, on comments already posted (early ones get more).
        while votes and i + 1 >= next_vote and len(cast) < votes:
            target = ids[int(len(ids) * rng.random() ** 2)]
            voter = f"guest:voter{rng.randrange(votes * 4)}"
            if (target, voter) not in cast:
                cast.add((target, voter))
                out.append(VoteCast(comment_id=target, voter=voter, value=1 if rng.random() < 0.7 else -1))
            next_vote += vote_every
    return out


def make_thread(key: str, comments: int = 100_000, *, replies: float = 0.3, votes: int | None = None,
                seed: int = 0, batch: int = 1000, project: str = "auto", using: str = "default",
                moderation: bool = False) -> dict:
    """Append the thread's events in batches, then make the projections current. Returns figures."""
    from events.store import NO_STREAM, EventStore
    from projections.base import checkpoint, run_once
    from projections.rebuild import rebuild

    store = EventStore(using)
    if store.stream_version(key):
        raise ValueError(f"thread {key!r} already exists")
    empty_before = store.head() == 0 and checkpoint(using=using) == 0
    events = thread_events(key, comments, replies=replies, votes=votes, seed=seed, using=using, moderation=moderation)
    t0 = time.monotonic()
    version = 0
    meta = {"actor": "bench:make_thread"}
    i = 0
    while i < len(events):
        end = min(i + batch, len(events))
        while end < len(events) and events[end].type == "CommentHeld":  # appended with its CommentPosted
            end += 1
        chunk = events[i:end]
        store.append(key, chunk, expected_version=version or NO_STREAM, metadata=meta)
        version += len(chunk)
        i = end
    appended = time.monotonic() - t0
    mode = ("rebuild" if empty_before else "runner") if project == "auto" else project
    t1 = time.monotonic()
    if mode == "rebuild":
        rebuild(store)
    elif mode == "runner":
        while run_once(store, batch=5000) < store.head():
            pass
    projected = time.monotonic() - t1
    return {"key": key, "comments": comments, "events": len(events), "head": store.head(),
            "append_seconds": round(appended, 2), "project": mode, "project_seconds": round(projected, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="DATABASE_URL selects the database (default: the checkout's SQLite file).")
    ap.add_argument("--key", default=None, help="thread key (default: bench-<N>)")
    ap.add_argument("--comments", "-n", type=int, default=100_000, help="comments in the thread (default 100000)")
    ap.add_argument("--replies", type=float, default=0.3, help="fraction of comments that are replies (0.3)")
    ap.add_argument("--votes", type=int, default=None, help="votes (default: comments / 2)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (0)")
    ap.add_argument("--batch", type=int, default=1000, help="events per append (1000)")
    ap.add_argument("--project", choices=["auto", "rebuild", "runner", "none"], default="auto",
                    help="how to bring the projections up to date (auto: rebuild if the log was empty, else runner)")
    args = ap.parse_args()
    setup_django()
    print(json.dumps(make_thread(args.key or f"bench-{args.comments}", args.comments, replies=args.replies,
                                 votes=args.votes, seed=args.seed, batch=args.batch, project=args.project)))


if __name__ == "__main__":
    main()
