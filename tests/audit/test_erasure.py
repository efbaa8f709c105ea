"""Erasure without breaking the log: a person's key is destroyed, their fields read [erased] everywhere, and
the hash chain still verifies."""
from __future__ import annotations

import json

import pytest

from events.audit import verify_chain
from events.people import ERASED
from events.store import EventStore
from projections.models import CommentView, LiveFrame
from projections.rebuild import verify
from threadlog.commands import Actor, CommandError, EditComment, ErasePerson, PostComment, handle


def _post(key, actor, name, body, email=None, parent=None):
    return handle(PostComment(thread=key, body=body, author_name=name, author_email=email, parent_id=parent),
                  actor)


@pytest.mark.parametrize("bodies", ["kept", "hidden"])
def test_erasing_a_person_everywhere_but_the_chain(live_db, key, bodies):
    eve, sam = Actor(f"guest:eve-{key}", ip_hash="ip-eve"), Actor(f"guest:sam-{key}")
    first = _post(key, eve, "Eve Example", "Eve's words", email="eve@example.org")
    _post(key, sam, "Sam", "Sam's reply", parent=first.comment_id)
    raw = EventStore().read_stream(key)
    assert "Eve Example" not in json.dumps([e.data for e in raw])  # sealed from the start
    assert "eve@example.org" not in json.dumps([e.data for e in raw])
    assert "ip-eve" not in json.dumps([e.metadata for e in raw])

    handle(ErasePerson(person=eve.id, bodies=bodies), Actor("user:1", is_staff=True))

    row = CommentView.objects.get(pk=first.comment_id)
    assert row.author_name == ERASED
    assert (row.body == "Eve's words") == (bodies == "kept")
    assert CommentView.objects.get(thread_key=key, author_id=sam.id).author_name == "Sam"
    frames = "".join(LiveFrame.objects.filter(thread_key=key).values_list("frame", flat=True))
    assert "Eve Example" not in frames
    assert ("Eve&#x27;s words" in frames or "Eve's words" in frames) == (bodies == "kept")
    assert verify_chain(EventStore()).ok  # the log is untouched
    assert verify(EventStore()) is None  # and a rebuild gives exactly what the live path shows


def test_an_erased_author_cannot_bring_a_hidden_body_back_by_editing(live_db, key):
    eve = Actor(f"guest:eve-{key}")
    first = _post(key, eve, "Eve", "original")
    handle(ErasePerson(person=eve.id, bodies="hidden"), Actor("user:1", is_staff=True))
    handle(EditComment(comment_id=first.comment_id, body="back again"), eve)
    assert CommentView.objects.get(pk=first.comment_id).body == ""
    assert verify(EventStore()) is None


def test_only_staff_erase_and_only_known_people(live_db, key):
    with pytest.raises(CommandError) as forbidden:
        handle(ErasePerson(person="guest:x"), Actor("guest:y"))
    assert forbidden.value.status == 403
    with pytest.raises(CommandError) as unknown:
        handle(ErasePerson(person=f"guest:nobody-{key}"), Actor("user:1", is_staff=True))
    assert unknown.value.status == 404


def test_erase_person_command_and_readable_export(make_server):
    server = make_server(demo=True)
    result = server.cli("erase-person", "guest:demo-ronald", "--bodies", "hidden", check=False)
    assert result.returncode == 0, result.stderr
    assert server.cli("audit", "verify", check=False).returncode == 0
    assert server.cli("projections", "verify", check=False).returncode == 0
    readable = [json.loads(line) for line in server.cli("export", "--readable").stdout.splitlines()]
    ronald = [e for e in readable if e["data"].get("author_id") == "guest:demo-ronald"]
    assert ronald and all(e["data"]["author_name"] == ERASED and e["data"]["body"] == ERASED for e in ronald)
    others = [e for e in readable if e["data"].get("author_id") == "guest:demo-tommy-jensen"]
    assert others[0]["data"]["author_name"] == "Tommy Jensen"
    tree = server.cli("audit", "thread", "demo").stdout
    assert "Ronald" not in tree and "Tommy Jensen" in tree


def test_public_events_hide_what_erasure_hid_and_who_was_erased(client, live_db, key):
    eve = Actor(f"guest:eve-{key}")
    _post(key, eve, "Eve", "a body that must go")
    handle(ErasePerson(person=eve.id, bodies="hidden"), Actor("user:1", is_staff=True))
    response = client.get(f"/api/events?after={EventStore().head() - 5}&limit=10")
    events = response.json()["events"]
    text = json.dumps(events)
    assert "a body that must go" not in text and eve.id not in text
    erased = [e for e in events if e["type"] == "PersonErased"]
    assert erased and "person" not in erased[0]["data"]


def test_the_people_stream_is_not_a_thread(client, live_db):
    for path in ("/api/threads/system:people", "/api/threads/system:people/comments"):
        response = client.get(path)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_key"


@pytest.mark.parametrize("name", ["Ann", "  Zoë 😀  ", "", "\u00a0x\u2028y", "None", "O'Brien <b>&amp;</b>"])
def test_a_post_projects_the_name_it_sealed_without_opening_it_again(live_db, key, monkeypatch, name):
    """The post handler hands the projection the plain name it has just sealed (no second opening of the token):
    the read model, the frame and a rebuild show what opening the sealed token shows, and an erasure still wins."""
    import events.people
    from events.sealing import open_sealed

    actor = Actor(f"guest:named-{key}")
    opened = []
    real = events.people.sealed_name
    monkeypatch.setattr(events.people, "sealed_name", lambda *a: opened.append(a) or real(*a))
    posted = _post(key, actor, name.strip(), "hello")
    assert opened == []  # the projection took the handler's plain name
    monkeypatch.undo()

    event = EventStore().read_stream(key)[-1]
    assert event.data["sealed_author"] and "author_name" not in event.data  # the log holds the sealed name only
    row = CommentView.objects.get(pk=posted.comment_id)
    person_key = events.people.person_key(actor.id)
    assert row.author_name == open_sealed(person_key, actor.id, event.data["sealed_author"])["name"] == name.strip()
    assert posted.comment.author_name == row.author_name
    assert verify(EventStore()) is None  # a rebuild (which opens the token) gives the same read model

    handle(ErasePerson(person=actor.id), Actor("user:1", is_staff=True))
    assert CommentView.objects.get(pk=posted.comment_id).author_name == ERASED
    assert verify(EventStore()) is None
