"""Replay for auditors: filtered log, a comment's history, a thread at a point, export/import, the staff page."""
from __future__ import annotations

import json

import pytest

from events.store import EventStore
from threadlog.commands import Actor, CastVote, DeleteComment, EditComment, PostComment, handle

ALICE, BOB, MOD = Actor("guest:alice"), Actor("guest:bob"), Actor("user:1", is_staff=True)


@pytest.fixture
def story(live_db, key):
    """A small thread with an edit, votes and a deletion, written through the handlers."""
    first = handle(PostComment(thread=key, body="The first line.\nA second line.", author_name="Alice"), ALICE)
    reply = handle(PostComment(thread=key, body="A reply", author_name="Bob", parent_id=first.comment_id), BOB)
    before_edit = reply.position
    handle(EditComment(comment_id=first.comment_id, body="The first line.\nA better second line."), ALICE)
    handle(CastVote(comment_id=first.comment_id, value=1), BOB)
    handle(CastVote(comment_id=first.comment_id, value=-1), BOB)
    deleted = handle(DeleteComment(comment_id=reply.comment_id), MOD)
    return {"key": key, "first": first.comment_id, "reply": reply.comment_id, "before_edit": before_edit,
            "end": deleted.position}


def test_comment_history_shows_edits_with_a_diff_votes_and_deletion(story):
    from events.audit import comment_history

    entries = comment_history(EventStore(), story["first"])
    assert [e.type for e in entries] == ["CommentPosted", "CommentEdited", "VoteCast", "VoteCast"]
    assert "-A second line." in entries[1].diff and "+A better second line." in entries[1].diff
    assert entries[2].summary == "vote up by guest:bob" and entries[3].summary == "vote down by guest:bob"
    reply = comment_history(EventStore(), story["reply"])
    assert reply[-1].type == "CommentDeleted" and "user:1" in reply[-1].summary


def test_filters_by_thread_actor_type_and_until(story):
    from events.audit import filter_events

    store = EventStore()
    mine = list(filter_events(store, thread=story["key"], actor="guest:bob"))
    assert [e.type for e in mine] == ["CommentPosted", "VoteCast", "VoteCast"]
    votes = list(filter_events(store, thread=story["key"], type="VoteCast"))
    assert len(votes) == 2
    early = list(filter_events(store, thread=story["key"], until=story["before_edit"]))
    assert [e.type for e in early] == ["ThreadOpened", "CommentPosted", "CommentPosted"]


def test_thread_as_it_stood_and_the_diff_between_two_points(story):
    from projections.history import diff_states, render_tree, state_at

    store = EventStore()
    then = state_at(store, story["key"], story["before_edit"])
    now = state_at(store, story["key"], story["end"])
    assert "A second line." in render_tree(then, story["key"])
    assert "[deleted]" in render_tree(now, story["key"])
    diff = diff_states(then, now)
    assert [a.id for a, _ in diff.edited] == [story["first"]]
    assert [r.id for r in diff.deleted] == [story["reply"]]
    assert diff.added == []


def test_export_then_import_reproduces_positions_hashes_and_projections(make_server, tmp_path):
    source = make_server(demo=True)
    keys = tmp_path / "keys.json"
    exported = source.cli("export", "--keys", str(keys)).stdout
    lines = exported.splitlines()
    assert len(lines) > 40 and all(json.loads(line)["hash"] for line in lines)
    dump = tmp_path / "log.jsonl"
    dump.write_text(exported)

    target = make_server()
    target.env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'copy.sqlite3'}"
    target.cli("migrate", "--verbosity", "0")
    result = target.cli("import", str(dump), "--keys", str(keys), check=False)
    assert result.returncode == 0, result.stderr
    assert target.cli("export").stdout == exported
    assert target.cli("audit", "verify", check=False).returncode == 0
    src_tree = source.cli("audit", "thread", "demo").stdout
    assert src_tree == target.cli("audit", "thread", "demo").stdout
    assert target.cli("projections", "verify", check=False).returncode == 0

    again = target.cli("import", str(dump), check=False)
    assert again.returncode == 1 and "not empty" in again.stderr


def test_import_refuses_a_file_whose_chain_does_not_verify(make_server, tmp_path):
    source = make_server(demo=True)
    lines = source.cli("export").stdout.splitlines()
    event = json.loads(lines[5])
    event["data"]["body"] = "words nobody wrote"
    lines[5] = json.dumps(event)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    target = make_server()
    target.env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    target.cli("migrate", "--verbosity", "0")
    result = target.cli("import", str(bad), check=False)
    assert result.returncode == 1
    assert "position 6" in result.stderr
    assert json.loads(target.cli("audit", "head").stdout)["position"] == 0


def test_audit_cli_log_and_comment(make_server):
    server = make_server(demo=True)
    lines = server.cli("audit", "log", "--thread", "demo", "--type", "CommentPosted", "--json").stdout.splitlines()
    posted = [json.loads(line) for line in lines]
    assert len(posted) == 8 and {p["type"] for p in posted} == {"CommentPosted"}
    history = server.cli("audit", "comment", posted[0]["data"]["comment_id"]).stdout
    assert "posted by" in history and "vote up" in history
    at = server.cli("audit", "thread", "demo", "--at", str(posted[2]["position"])).stdout
    assert "Joe Doe" in at and "Tommy Jensen" not in at  # only what had been posted by then
    diff = server.cli("audit", "thread", "demo", "--diff", "1", str(posted[-1]["position"])).stdout
    assert sum(line.startswith("+ ") for line in diff.splitlines()) == 8


def test_audit_pages_are_for_staff_only(client, live_db, story, django_user_model):
    response = client.get("/audit/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff = django_user_model.objects.create_user(username=f"auditor-{story['key']}", password="x", is_staff=True)
    client.force_login(staff)
    page = client.get(f"/audit/?thread={story['key']}")
    assert page.status_code == 200 and b"CommentEdited" in page.content
    history = client.get(f"/audit/comment/{story['first']}")
    assert b"A better second line." in history.content
    then = client.get(f"/audit/thread/{story['key']}?at={story['before_edit']}")
    assert then.status_code == 200
    assert b"A second line." in then.content and b"[deleted]" not in then.content
    now = client.get(f"/audit/thread/{story['key']}")
    assert b"[deleted]" in now.content


def test_a_moment_resolves_to_the_last_position_recorded_at_or_before_it(store, key):
    """`--until <time>` and the workbench's time picker (events.audit.position_at_time), on both databases."""
    from events.audit import position_at_time, resolve_point
    from events.types import ThreadOpened

    first = store.append(key, [ThreadOpened(key=key, title="t")])[0]
    second = store.append(key, [ThreadOpened(key=key, title="again")], expected_version=1)[0]
    assert position_at_time(store, "2000-01-01T00:00") == 0  # before the log began
    assert position_at_time(store, first.recorded_at) == first.position
    assert position_at_time(store, second.recorded_at) == second.position
    if second.recorded_at > first.recorded_at:
        assert resolve_point(store, first.recorded_at) == first.position  # not the later event
    assert position_at_time(store, "2999-01-01T00:00:00+02:00") == store.head()
