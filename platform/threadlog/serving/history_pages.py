"""The expensive reads, as functions a history process can be handed (`expensive.offload`): module-level,
plain arguments in, plain values out (a page of comments, or a page's HTML), never a whole thread's state."""
from __future__ import annotations

from events.store import get_store
from projections import occurred, queries


def comments_page_at(*, key: str, position: int, sort: str, cursor: str | None, limit: int,
                     anchor: str | None = None) -> queries.Page | None:
    """The API's `?at=` page: the thread's state at `position` (snapshot + replay), sorted and cut to one page."""
    return queries.comments_page_at(get_store(), key=key, position=position, sort=sort, cursor=cursor, limit=limit,
                                    anchor=anchor)


def comments_page_at_time(*, key: str, moment: str, sort: str, cursor: str | None, limit: int,
                          anchor: str | None = None) -> queries.Page | None:
    """The API's `?at=<time>` page: the events that had occurred by then (imported ones at their source time)."""
    return occurred.comments_page_at_time(get_store(), key=key, moment=moment, sort=sort, cursor=cursor, limit=limit,
                                          anchor=anchor)
