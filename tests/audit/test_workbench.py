"""The auditor's workbench through its public faces: the chain check kept up incrementally (the store's API),
the staff pages (HTTP: thread steps, event list with filters, keyset paging and export, actor page, comment
history, anchors), and an event type no page knows (as moderation events will be) shown generically."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import ClassVar

import pytest

from events.store import EventStore
from events.types import Event, event
from threadlog.commands import Actor, CastVote, DeleteComment, EditComment, ErasePerson, PostComment, handle

ALICE, BOB, MOD = Actor("guest:alice"), Actor("guest:bob"), Actor("user:1", is_staff=True)


@event
@dataclass(frozen=True)
class CommentProbedByAudit(Event):
    """A stand-in for the moderation events of another branch: a type the audit pages do not know."""

    type: ClassVar[str] = "CommentProbedByAudit"
    version: ClassVar[int] = 1
    comment_id: str
    moderator: str
    reason: str = ""


@pytest.fixture
def staff(client, live_db, django_user_model, key):
    user = django_user_model.objects.create_user(username=f"auditor-{key}", password="x", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def story(live_db, key):
    first = handle(PostComment(thread=key, body="The first line.\nA second line.", author_name="Alice"), ALICE)
    reply = handle(PostComment(thread=key, body="A reply", author_name="Bob", parent_id=first.comment_id), BOB)
    edit = handle(EditComment(comment_id=first.comment_id, body="The first line.\nA better second line."), ALICE)
    up = handle(CastVote(comment_id=first.comment_id, value=1), BOB)
    deleted = handle(DeleteComment(comment_id=reply.comment_id), MOD)
    return {"key": key, "first": first.comment_id, "reply": reply.comment_id, "posted": first.position,
            "replied": reply.position, "edit": edit.position, "up": up.position, "deleted": deleted.position}


def page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    text = response.content.decode()
    assert "{{" not in text and "{%" not in text, f"template source on {url}"
    return text


# --- the chain, incrementally ----------------------------------------------------------------------------


def test_incremental_check_verifies_only_new_events_and_keeps_up_with_the_head(store, key):
    from events.chain import check

    check(store)  # whatever the shared test database holds so far
    first = check(store)
    assert first.ok and first.new_events == 0 and first.position == store.head()
    store.append(key, [event_class_opened(key)])
    later = check(store)
    assert later.ok and later.new_events == 1
    assert (later.position, later.hash) == (store.head_record().position, store.head_record().hash)
    assert later.checked_at >= first.checked_at


def event_class_opened(key):
    from events.types import ThreadOpened

    return ThreadOpened(key=key, title="chain")


def test_anchor_form_matches_the_head_and_refuses_another_hash(staff, story):
    head = EventStore().head_record()
    ok = page(staff, f"/audit/chain?position={head.position}&hash={head.hash}")
    assert "Matches" in ok and "nothing up to it was altered" in ok.replace("the anchor was", "it was")
    wrong = page(staff, f"/audit/chain?position={head.position}&hash={'0' * 64}")
    assert "Does not match" in wrong and head.hash in wrong
    missing = page(staff, f"/audit/chain?position={head.position + 1000}&hash={'a' * 64}")
    assert "no position" in missing
    bad = page(staff, "/audit/chain?position=x&hash=abc", status=400)
    assert "hexadecimal" in bad or "whole number" in bad


# --- the thread at a step -------------------------------------------------------------------------------


def test_each_step_says_what_it_changed(staff, story):
    key = story["key"]
    added = page(staff, f"/audit/thread/{key}?at={story['replied']}")
    assert 'class="change k-added"' in added and "Bob posted a reply" in added
    edited = page(staff, f"/audit/thread/{key}?at={story['edit']}")
    assert 'class="change k-edited"' in edited and '<ins class="d-ins">better' in edited
    voted = page(staff, f"/audit/thread/{key}?at={story['up']}")
    assert "guest:bob voted up" in voted and "▲0 ▼0 → ▲1 ▼0" in voted
    deleted = page(staff, f"/audit/thread/{key}?at={story['deleted']}")
    assert 'class="change k-deleted"' in deleted and "deleted by user:1" in deleted
    # the permalink, previous and next steps
    assert f'href="?at={story["deleted"]}" id="permalink"' in deleted
    assert f'id="prev" href="?at={story["up"]}"' in deleted and 'id="next"' not in deleted


def test_slider_step_time_and_bad_input(staff, story):
    key = story["key"]
    by_step = page(staff, f"/audit/thread/{key}?step=3")  # ThreadOpened, posted, replied
    assert f"position {story['replied']}" in by_step
    recorded = EventStore().read_stream(key)[2].recorded_at
    by_time = page(staff, f"/audit/thread/{key}?time={recorded[:26]}")
    assert f"position {story['replied']}" in by_time
    assert "is not a date" in page(staff, f"/audit/thread/{key}?time=soon", status=400)
    assert "No events" in page(staff, "/audit/thread/no-such-thread-here", status=404)


def test_a_type_no_page_knows_shows_by_name_and_data(staff, story):
    store = EventStore()
    [probe] = store.append(story["key"], [CommentProbedByAudit(comment_id=story["first"], moderator="user:7",
                                                                reason="looked at closely")],
                           metadata={"actor": "user:7"})
    history = page(staff, f"/audit/comment/{story['first']}")
    assert "CommentProbedByAudit" in history and "looked at closely" in history and "user:7" in history
    step = page(staff, f"/audit/thread/{story['key']}?at={probe.position}")
    assert "CommentProbedByAudit" in step and "k-moderation" in step
    listed = page(staff, f"/audit/?thread={story['key']}&type=CommentProbedByAudit")
    assert "reason: looked at closely" in listed


# --- the event list -------------------------------------------------------------------------------------


def test_filters_by_actor_type_text_and_time(staff, story):
    key = story["key"]
    bob = page(staff, f"/audit/?thread={key}&actor=guest:bob")
    assert bob.count("<tr class=") == 2  # his reply and his vote
    text = page(staff, f"/audit/?thread={key}&text=BETTER")
    assert text.count("<tr class=") == 1 and "CommentEdited" in text
    events = EventStore().read_stream(key)
    since = events[3].recorded_at
    later = page(staff, f"/audit/?thread={key}&since={since[:26]}")
    assert later.count("<tr class=") == len(events) - 3
    assert "is not a date" in page(staff, f"/audit/?since=yesterday", status=400)


def test_keyset_paging_both_ways(staff, live_db, key):
    for i in range(12):
        handle(PostComment(thread=key, body=f"comment number {i:02d}", author_name="Pager"), ALICE)
    first = page(staff, f"/audit/?thread={key}&type=CommentPosted&size=5")
    assert "comment number 00" in first and "comment number 04" in first and "comment number 05" not in first
    assert 'rel="prev"' not in first
    nxt = first.split('rel="next"')[0].rsplit('href="?', 1)[1].split('"')[0].replace("&amp;", "&")
    second = page(staff, f"/audit/?{nxt}")
    assert "comment number 05" in second and "comment number 09" in second and "comment number 04" not in second
    prev = second.split('rel="prev"')[0].rsplit('href="?', 1)[1].split('"')[0].replace("&amp;", "&")
    back = page(staff, f"/audit/?{prev}")
    assert "comment number 00" in back and "comment number 04" in back and "comment number 05" not in back
    newest = page(staff, f"/audit/?thread={key}&type=CommentPosted&size=5&before=999999999")
    assert "comment number 11" in newest and "comment number 07" in newest and 'rel="next"' not in newest


def test_export_of_the_filtered_view_as_jsonl_and_csv(staff, story):
    from events.audit import export_lines

    key = story["key"]
    jsonl = staff.get(f"/audit/?thread={key}&type=VoteCast&format=jsonl")
    assert jsonl.status_code == 200 and "attachment" in jsonl["Content-Disposition"]
    lines = jsonl.content.decode().splitlines()
    everything = {json.loads(line)["position"]: line for line in export_lines(EventStore())}
    assert lines == [everything[story["up"]]]  # byte for byte what `threadlog export` writes
    rows = list(csv.reader(io.StringIO(staff.get(f"/audit/?thread={key}&format=csv").content.decode())))
    assert rows[0][:4] == ["position", "recorded_at", "thread", "type"]
    assert [int(r[0]) for r in rows[1:]] == [e.position for e in EventStore().read_stream(key)]


# --- actor and comment pages ----------------------------------------------------------------------------


def test_actor_page_counts_across_threads_and_shows_erasure(staff, live_db, key):
    eve = Actor(f"guest:eve-{key}")
    for thread in (key, key + "-b"):
        c = handle(PostComment(thread=thread, body="Eve was here", author_name="Eve Example"), eve)
        handle(CastVote(comment_id=c.comment_id, value=1), eve)
    text = page(staff, f"/audit/actor/{eve.id}")
    assert "6 events" in text and "Eve Example" in text and key + "-b" in text  # her posts opened both threads
    assert ">CommentPosted</a></th><td>2<" in text and ">VoteCast</a></th><td>2<" in text
    handle(ErasePerson(person=eve.id), MOD)
    erased = page(staff, f"/audit/actor/{eve.id}")
    assert "was erased" in erased and "Eve Example" not in erased
    page(staff, "/audit/actor/guest:nobody-at-all", status=404)


def test_comment_history_inline_and_side_by_side_with_a_votes_chart(staff, story):
    inline = page(staff, f"/audit/comment/{story['first']}")
    assert '<div class="diff inline">' in inline and '<ins class="d-ins">better' in inline
    assert "<svg" in inline and "1 up, 0 down, score 1" in inline
    side = page(staff, f"/audit/comment/{story['first']}?view=side")
    assert '<div class="diff side">' in side and "Before" in side and "After" in side
    page(staff, "/audit/comment/not-a-comment", status=404)


def test_reader_page_loads_the_history_links_for_staff_only(client, staff, story):
    assert "audit-links.js" in staff.get(f"/t/{story['key']}").content.decode()
    staff.logout()
    assert "audit-links.js" not in staff.get(f"/t/{story['key']}").content.decode()


def test_the_projector_service_keeps_the_chain_status_current(live_db, key):
    from events.chain import check
    from threadlog.cli import main

    store = EventStore()
    handle(PostComment(thread=key, body="checked by the projector", author_name="P"), ALICE)
    assert main(["projections", "run"]) == 0  # one round of `threadlog projections run --follow`
    status = check(store)
    assert status.ok and status.new_events == 0 and status.position == store.head()
