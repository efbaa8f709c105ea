"""Imports read back through the public API: tree, dates, scores, sorts, time travel, votes, events.

Each test imports the hand-written fixtures (tests/imports/fixtures) through threadlog.imports.writer into the
test database, then reads only through HTTP (Django's test client).
"""
from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient
from tests.imports.conftest import import_fixture

pytestmark = pytest.mark.usefixtures("live_db")
SORTS = ["oldest", "newest", "most_voted", "best", "hot"]


def wp_key(prefix: str) -> str:
    return f"q.~{prefix}~.3Fp.3D4"  # https://news.example.org/<prefix>/?p=4


def tree(comments: list[dict]) -> list:
    """(author, created_at, up, down, deleted, replies) of each comment, recursively."""
    return [(c["author"]["name"], c["created_at"], c["up"], c["down"], c["deleted"], tree(c["replies"]))
            for c in comments]


JUERGEN = ("Jürgen Weiß", "2019-05-06T09:00:00.000000Z", 5, 1, False,
           [("Zoë Ångström", "2019-05-06T10:30:00.000000Z", 0, 1, False, [])])
PLACEHOLDER = ("[deleted]", "2019-05-06T11:00:00.000000Z", 0, 0, True,
               [("Ольга", "2019-05-06T12:00:00.000000Z", 2, 0, False, [])])


def test_wordpress_thread_reads_back_in_every_sort(prefix):
    tally = import_fixture("wordpress.xml", prefix)
    # the unapproved comment is imported as pending (moderation): in the log, not shown to readers
    assert (tally.threads, tally.comments, tally.placeholders, tally.votes) == (2, 6, 1, 9)
    assert dict(tally.skipped) == {"spam": 1, "pingbacks and trackbacks": 1, "deleted (no replies to keep)": 1}
    api = ApiClient()
    key = wp_key(prefix)
    thread = api.get(f"/api/threads/{key}").json()
    assert thread["title"] == "Stadtrat beschließt neuen Radweg" and thread["comment_count"] == 3
    expected = {
        "oldest": [JUERGEN, PLACEHOLDER],  # the reply listed first in the file sits under its parent
        "newest": [PLACEHOLDER, JUERGEN],
        "most_voted": [JUERGEN, PLACEHOLDER],
        "best": [JUERGEN, PLACEHOLDER],
        "hot": [JUERGEN, PLACEHOLDER],
    }
    for sort in SORTS:
        page = api.comments(key, sort=sort)
        assert tree(page["comments"]) == expected[sort], sort
    first = api.comments(key)["comments"][0]
    assert first["body_html"] == "<p>Endlich! Der Radweg war überfällig.<br>Danke an alle.</p>"
    reply = first["replies"][0]
    assert reply["body_html"] == ("<p>Stimmt nicht ganz.<br>Der Radweg kommt erst 2021.</p><p>Quelle: Ratsprotokoll "
                                  '(<a href="https://example.org/rat" rel="nofollow ugc noopener">'
                                  "https://example.org/rat</a>)</p>")
    assert first["score"] == 4 and reply["score"] == -1
    # A page without comments opened no thread; the other post did.
    assert api.get(f"/api/threads/~{prefix}~impressum~").status_code == 404
    other = api.comments(f"~{prefix}~2019~06~sommerfest~")["comments"]
    assert [(c["author"]["name"], c["body_html"]) for c in other] == [("李雷", "<p>Schönes Fest &amp; gutes Wetter!</p>")]


def test_events_carry_occurred_at_and_the_page_url(prefix):
    import_fixture("wordpress.xml", prefix)
    events = ApiClient().get("/api/events", thread=wp_key(prefix), limit=100).json()["events"]
    opened = events[0]
    assert opened["type"] == "ThreadOpened" and opened["version"] == 2
    assert opened["data"]["url"] == f"https://news.example.org/{prefix}/?p=4"
    assert opened["data"]["title"] == "Stadtrat beschließt neuen Radweg"
    assert opened["occurred_at"] == "2019-05-06T08:00:00.000000Z"
    posted = [e for e in events if e["type"] == "CommentPosted"]
    assert [e["occurred_at"] for e in posted] == sorted(e["occurred_at"] for e in posted)  # oldest first
    assert all(e["recorded_at"] > "2025" for e in events)  # appended now
    assert {e["type"] for e in events} == {"ThreadOpened", "CommentPosted", "CommentDeleted", "VotesImported",
                                           "CommentHeld"}
    held = next(i for i, e in enumerate(events) if e["type"] == "CommentHeld")
    assert events[held - 1]["type"] == "CommentPosted" and events[held - 1]["occurred_at"] == "2019-05-06T14:00:00.000000Z"
    from events.store import get_store

    assert [e.data["reason"] for e in get_store().read_stream(wp_key(prefix)) if e.type == "CommentHeld"] == \
        ["premoderation"]
    assert "Wartet auf Freigabe" not in str(ApiClient().comments(wp_key(prefix)))
    assert all("author_email" not in e["data"] and "sealed_author" not in e["data"] for e in posted)


def test_time_travel_by_occurred_time(prefix):
    import_fixture("wordpress.xml", prefix)
    api = ApiClient()
    key = wp_key(prefix)
    # The source's vote totals are as of its newest comment (the pending one, 14:00 UTC): they count from then on.
    at_1030 = api.comments(key, at="2019-05-06T10:30:00Z")["comments"]
    assert tree(at_1030) == [("Jürgen Weiß", "2019-05-06T09:00:00.000000Z", 0, 0, False,
                              [("Zoë Ångström", "2019-05-06T10:30:00.000000Z", 0, 0, False, [])])]
    at_0930 = api.comments(key, at="2019-05-06T09:30:00+00:00")["comments"]
    assert tree(at_0930) == [("Jürgen Weiß", "2019-05-06T09:00:00.000000Z", 0, 0, False, [])]
    assert tree(api.comments(key, at="2019-05-06T14:00:00Z")["comments"]) == [JUERGEN, PLACEHOLDER]
    assert api.comments(key, at="2019-05-06T08:30:00Z")["comments"] == []  # the post existed, no comment yet
    assert api.get(f"/api/threads/{key}/comments", at="2019-05-06T07:00:00Z").status_code == 404
    bad = api.get(f"/api/threads/{key}/comments", at="yesterday")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_parameter"


def test_a_readers_vote_counts_once_beside_the_imported_votes(prefix):
    import_fixture("wordpress.xml", prefix)
    api = ApiClient()
    key = wp_key(prefix)
    first = api.comments(key)["comments"][0]
    assert (first["up"], first["down"]) == (5, 1)
    assert api.vote(first["id"], 1)["up"] == 6
    assert api.vote(first["id"], 1)["up"] == 6  # the same vote again changes nothing
    assert api.vote(first["id"], -1)["up"] == 5
    after = api.comments(key)["comments"][0]
    assert (after["up"], after["down"], after["score"]) == (5, 2, 3)


def test_live_replies_go_under_imported_comments(prefix):
    import_fixture("wordpress.xml", prefix)
    api = ApiClient()
    key = wp_key(prefix)
    first = api.comments(key)["comments"][0]
    reply = api.comment(key, "Late reply", name="Live Reader", parent_id=first["id"])
    assert reply["created_at"] > "2025"
    again = api.comments(key)["comments"][0]
    assert [r["author"]["name"] for r in again["replies"]] == ["Zoë Ångström", "Live Reader"]


def test_reimport_adds_nothing(prefix):
    from events.store import get_store

    first = import_fixture("wordpress.xml", prefix)
    head = get_store().head()
    again = import_fixture("wordpress.xml", prefix)
    assert get_store().head() == head
    assert (again.threads, again.comments, again.events, again.already_imported) == (0, 0, 0, first.comments)
    assert ApiClient().get(f"/api/threads/{wp_key(prefix)}").json()["comment_count"] == 3


def test_a_newer_export_adds_only_what_is_new(prefix):
    from tests.imports.conftest import fixture_bytes
    from threadlog.imports.writer import import_file
    import io

    import_fixture("wordpress.xml", prefix)
    newer = fixture_bytes("wordpress.xml", prefix).replace(b"</item>", b"""<wp:comment>
        <wp:comment_id>30</wp:comment_id><wp:comment_author>Neu</wp:comment_author>
        <wp:comment_author_email>neu2@example.net</wp:comment_author_email>
        <wp:comment_date>2019-05-07 10:00:00</wp:comment_date><wp:comment_date_gmt>2019-05-07 08:00:00</wp:comment_date_gmt>
        <wp:comment_content>Nachtrag</wp:comment_content><wp:comment_approved>1</wp:comment_approved>
        <wp:comment_parent>11</wp:comment_parent></wp:comment>
        </item>""", 1)
    tally = import_file(io.BytesIO(newer))
    assert (tally.threads, tally.threads_extended, tally.comments, tally.already_imported) == (0, 1, 1, 6)
    first = ApiClient().comments(wp_key(prefix))["comments"][0]
    assert [r["author"]["name"] for r in first["replies"][0]["replies"]] == ["Neu"]


def test_dry_run_appends_nothing_and_reports_the_same(prefix):
    from events.store import get_store

    head = get_store().head()
    dry = import_fixture("wordpress.xml", prefix, dry_run=True)
    assert get_store().head() == head
    assert dry.dry_run and (dry.threads, dry.comments, dry.votes) == (2, 6, 9)
    assert ApiClient().get(f"/api/threads/{wp_key(prefix)}").status_code == 404


def test_disqus_export(prefix):
    tally = import_fixture("disqus.xml", prefix)
    assert tally.format == "disqus"
    assert (tally.threads, tally.comments, tally.placeholders, tally.votes) == (2, 5, 1, 12)
    assert dict(tally.skipped) == {"spam": 1, "posts whose thread is not in the file": 1}
    assert tally.notes["replies whose parent is missing or skipped: made top-level"] == 1
    assert tally.notes["threads without an id or title: identified by their link"] == 1
    api = ApiClient()
    key = f"~{prefix}~2020~03~river-cleanup~"
    comments = api.comments(key)["comments"]
    assert tree(comments) == [
        ("Bjørn Ødegård", "2020-03-02T09:30:00.000000Z", 7, 2, False, [
            ("[deleted]", "2020-03-02T10:00:00.000000Z", 0, 0, True, [
                ("美玲", "2020-03-02T11:00:00.000000Z", 3, 0, False, [])])]),
        ("Ann", "2020-03-03T12:00:00.000000Z", 0, 0, False, []),
    ]
    assert comments[0]["body_html"] == ('<p>Great initiative. Details: example.org/cleanup (<a href="https://example.org/'
                                        'cleanup" rel="nofollow ugc noopener">https://example.org/cleanup</a>)</p>')
    assert comments[0]["replies"][0]["replies"][0]["body_html"] == \
        "<p>Count me in — I’ll bring gloves.</p><p>See you there!</p>"
    # A page with a query: its own key; its thread had no title, so it is named by its link.
    notes_key = f"q.~{prefix}~notes.3Fid.3D7.26lang.3Dfr"
    thread = api.get(f"/api/threads/{notes_key}").json()
    assert thread["title"] == f"https://blog.example.com/{prefix}/notes?id=7&lang=fr"
    assert [c["body_html"] for c in api.comments(notes_key)["comments"]] == ["<p>Merci &amp; à bientôt</p>"]
    assert api.get(f"/api/threads/~{prefix}~empty~").status_code == 404


def test_isso_export(prefix):
    tally = import_fixture("isso.json", prefix, site_url="https://isso.example.net")
    assert (tally.format, tally.threads, tally.comments, tally.votes) == ("isso", 1, 3, 7)  # one pending
    assert dict(tally.skipped) == {}
    api = ApiClient()
    key = f"~{prefix}~blog~article1"
    assert tree(api.comments(key)["comments"]) == [
        ("James Ñandú", "2018-11-28T17:24:23.000000Z", 2, 0, False, [
            ("Harold", "2018-11-28T17:58:03.000000Z", 1, 4, False, [])])]
    assert api.comments(key)["comments"][0]["body_html"] == "<p>Great article!</p><p>Second paragraph here.</p>"
    events = api.get("/api/events", thread=key).json()["events"]
    assert events[0]["data"]["url"] == f"https://isso.example.net/{prefix}/blog/article1"


def test_projections_and_chain_verify_after_imports_on_both_back_ends(store, prefix):
    """The same imports on SQLite and PostgreSQL: live read model == rebuild, hash chain intact."""
    from events.audit import verify_chain
    from projections.rebuild import verify
    from threadlog.imports.writer import import_file
    from tests.imports.conftest import fixture_bytes
    import io

    for name in ("wordpress.xml", "disqus.xml", "isso.json"):
        tally = import_file(io.BytesIO(fixture_bytes(name, prefix)), store=store)
        assert tally.comments > 0
        again = import_file(io.BytesIO(fixture_bytes(name, prefix)), store=store)
        assert again.events == 0
    assert verify(store) is None
    assert verify_chain(store).ok


@pytest.mark.parametrize("batch", [1, 2000])
def test_threads_are_imported_alike_in_batches_of_any_size(store, prefix, monkeypatch, batch):
    """An import decides, appends and projects its threads in batches (writer.BATCH_COMMENTS); a page the file
    lists twice is decided against what its first listing made, whatever the batch size. Both back-ends."""
    import io

    from events.audit import verify_chain
    from projections.rebuild import verify
    from tests.imports.conftest import fixture_bytes
    from threadlog.imports import writer

    monkeypatch.setattr(writer, "BATCH_COMMENTS", batch)
    data = fixture_bytes("wordpress.xml", prefix)
    first_item = data[data.index(b"<item>"):data.index(b"</item>") + len(b"</item>")]
    again = first_item[:first_item.index(b"<wp:comment>")] + b"""<wp:comment>
        <wp:comment_id>30</wp:comment_id><wp:comment_author>Neu</wp:comment_author>
        <wp:comment_author_email>neu3@example.net</wp:comment_author_email>
        <wp:comment_date_gmt>2019-05-07 08:00:00</wp:comment_date_gmt>
        <wp:comment_content>Nachtrag</wp:comment_content><wp:comment_approved>1</wp:comment_approved>
        <wp:comment_parent>11</wp:comment_parent></wp:comment></item>"""
    data = data.replace(first_item, first_item + again, 1)
    once = import_fixture("wordpress.xml", f"{prefix}x", store=store)
    tally = writer.import_file(io.BytesIO(data), store=store)
    assert (tally.threads, tally.threads_extended, tally.comments) == (once.threads, 1, once.comments + 1)
    assert writer.import_file(io.BytesIO(data), store=store).events == 0
    assert verify(store) is None
    assert verify_chain(store).ok
    if store.using == "default":  # the second listing's reply answers a comment it does not list: top level
        comments = ApiClient().comments(wp_key(prefix))["comments"]
        assert ("Neu", "2019-05-07T08:00:00.000000Z", 0, 0, False, []) in tree(comments)
        assert tree([c for c in comments if c["author"]["name"] != "Neu"]) == tree(
            ApiClient().comments(wp_key(f"{prefix}x"))["comments"])


def test_a_batch_large_enough_for_copy_imports_on_both_back_ends(store, tmp_path):
    """A batch of hundreds of comments: on PostgreSQL the read-model rows go through COPY (projections.state), which
    psycopg refuses inside the pipeline the projection's writes travel in; the import must still land whole."""
    import importlib.util
    import io
    import os
    import uuid

    from events.audit import verify_chain
    from projections.rebuild import verify
    from tests.conftest import ROOT
    from threadlog.imports import writer

    spec = importlib.util.spec_from_file_location("import_bench", ROOT / "benchmarks" / "import.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "big.xml"
    bench.write_wxr(path, posts=3, comments=400, seed=int.from_bytes(os.urandom(2), "big"))
    data = path.read_bytes().replace(b"https://", f"https://b{uuid.uuid4().hex[:10]}.".encode())
    tally = writer.import_file(io.BytesIO(data), store=store)
    assert tally.comments > 300
    assert verify(store) is None
    assert verify_chain(store).ok
