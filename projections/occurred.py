"""A thread as it stood at a moment in time, by when its events happened (occurred_at), not when they were logged.

An imported comment from 2019 is appended today: by `recorded_at` it did not exist in 2020, by `occurred_at` it
did. Readers ask about the thread's own history (`at=2020-01-01T00:00:00Z`), so a time selects the events that
had occurred by then — imported ones by their source time, live ones by their recording time — and replays those,
in log order. A position (`at=123`) keeps meaning the log as it stood at that position (projections.snapshots).
"""
from __future__ import annotations

from datetime import datetime, timezone

from events.people import KeyRing
from events.store import EventStore

from .queries import Page, page_of_state
from .rebuild import fold
from .state import MemoryState


class BadTime(ValueError):
    pass


def parse_moment(text: str) -> str:
    """An ISO-8601 time (UTC when it names no zone) in the log's own form, which compares as text."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadTime(f"{text[:40]!r} is neither a position nor an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def state_at_time(store: EventStore, key: str, moment: str) -> MemoryState:
    """The thread `key` replayed from the events that had occurred at or before `moment` (parse_moment's form)."""
    events = [ev for ev in store.read_stream(key) if ev.occurred_at <= moment]
    state, _ = fold(events, MemoryState(keys=KeyRing(store.using)), frames_too=False)
    return state


def comments_page_at_time(store: EventStore, *, key: str, moment: str, sort: str, cursor: str | None,
                          limit: int, anchor: str | None = None) -> Page | None:
    return page_of_state(state_at_time(store, key, moment), key=key, sort=sort, cursor=cursor, limit=limit,
                         using=store.using, anchor=anchor)
