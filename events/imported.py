"""Events of imports (threadlog import-comments): ThreadOpened v2 with the page's URL, and imported vote totals.

Imported comments are plain CommentPosted (and CommentDeleted for placeholders) events; what tells them apart is
their metadata: "source", "source_id" and "occurred_at" (the source's time, see events.store.occurred_at).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .types import Event, event, upcaster


@event
@dataclass(frozen=True)
class ThreadOpened(Event):
    """v2: the page the thread belongs to (`url`; "" or absent when unknown: threads opened by a first live
    comment, which still write v1)."""

    type: ClassVar[str] = "ThreadOpened"
    version: ClassVar[int] = 2
    key: str
    title: str = ""
    url: str = ""


@upcaster("ThreadOpened", 1, adds_nothing=True)
def _thread_opened_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v1 data is v2 data without a url: left out rather than added as "", so that a rebuild's live frame of a v1
    event is the very frame the live path stored (`url` reads as "" through the class's default)."""
    return data


@event
@dataclass(frozen=True)
class VotesImported(Event):
    """Comments' vote totals in the source (wpDiscuz likes/dislikes, Disqus likes): their initial up and down.

    `votes` lists [comment_id, up, down] for the comments of one thread that had any: one event per imported
    thread rather than one per comment (an export of 100,000 comments has tens of thousands with votes).
    Not VoteCast: the source does not say who voted, so these count beside every reader's own vote (a reader's
    vote still counts once) and no reader can retract them."""

    type: ClassVar[str] = "VotesImported"
    version: ClassVar[int] = 1
    votes: tuple[tuple[str, int, int], ...] = ()

    def __post_init__(self) -> None:
        for comment_id, up, down in self.votes:
            if up < 0 or down < 0:
                raise ValueError("VotesImported counts are not negative")

    def to_data(self) -> dict[str, Any]:
        return {"votes": [[c, up, down] for c, up, down in self.votes]}
