"""A long thread keeps the live frames of its recent events only, the same ones live and after a rebuild."""
from __future__ import annotations

from events.store import ANY, EventStore
from events.types import VoteCast
from projections.base import run_once
from projections.models import LiveFrame, ThreadView
from projections.rebuild import rebuild, verify
from projections.thread import FRAMES_WINDOW, frames_cut
from threadlog.commands import Actor, PostComment, handle


def long_thread(key: str, votes: int) -> tuple[str, EventStore]:
    """One comment (thread versions 1-2), then `votes` vote switches appended in one batch and projected by the
    catch-up runner, which applies them 1,000 at a time as `threadlog projections run` does."""
    comment = handle(PostComment(thread=key, body="long", author_name="Ann"), Actor("guest:fr-ann")).comment_id
    store = EventStore()
    events = [VoteCast(comment_id=comment, voter=f"guest:fr-{i % 7}", value=1 if i % 2 else -1) for i in range(votes)]
    store.append(key, events, expected_version=ANY)
    run_once(store)
    return comment, store


def frames_of(key: str) -> list[tuple[int, int, str]]:
    return list(LiveFrame.objects.filter(thread_key=key).order_by("position")
                .values_list("position", "stream_version", "frame"))


def test_frames_are_pruned_a_window_at_a_time_and_a_rebuild_writes_the_same(live_db, key):
    _, store = long_thread(key, 2 * FRAMES_WINDOW + 100)
    version = 2 * FRAMES_WINDOW + 102
    thread = ThreadView.objects.get(pk=key)
    assert thread.stream_version == version
    kept = frames_of(key)
    cut = frames_cut(version)
    assert cut == FRAMES_WINDOW
    assert [v for _, v, _ in kept] == list(range(cut + 1, version + 1))  # every frame after the cut, none before
    by_version = {e.stream_version: e.position for e in store.read_stream(key)}
    assert thread.frames_pruned_through == by_version[cut]
    assert thread.frames_mark == by_version[2 * FRAMES_WINDOW]

    assert verify(store) is None
    rebuild(store)
    assert frames_of(key) == kept
    assert ThreadView.objects.get(pk=key).frames_pruned_through == by_version[cut]
    assert verify(store) is None


def test_a_short_thread_keeps_every_frame(live_db, key):
    long_thread(key, FRAMES_WINDOW + 500)
    assert [v for _, v, _ in frames_of(key)] == list(range(1, FRAMES_WINDOW + 503))
    assert ThreadView.objects.get(pk=key).frames_pruned_through == 0


def test_an_edit_of_an_early_comment_shows_its_author_in_the_rebuilt_frame(live_db, key):
    """A rebuild opens sealed names late (projections.offload), but the frame of an edit made within the kept
    window, of a comment posted long before it, shows the author's name: the same frame as live."""
    import json

    from threadlog.commands import EditComment

    comment, store = long_thread(key, 2 * FRAMES_WINDOW + 100)
    handle(EditComment(comment_id=comment, body="edited much later"), Actor("user:1", is_staff=True))
    kept = frames_of(key)
    edit = json.loads(kept[-1][2])
    assert edit["event"]["type"] == "CommentEdited" and edit["comment"]["author"]["name"] == "Ann"
    assert verify(store) is None
    rebuild(store)
    assert frames_of(key) == kept
