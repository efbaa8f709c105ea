"""Commands: what a reader asks for, already validated for shape by the entry point."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PostComment:
    thread: str
    body: str
    author_name: str
    author_email: str | None = None
    parent_id: str | None = None
    title: str = ""
    honeypot: bool = False  # the form's hidden field was filled: held as spam (threadlog.moderation.rules)
    format: str = "plain"  # of the body: "plain" or "markdown" (events.formats)
    anchor: dict | None = None  # the passage (events.anchors): top-level comments only


@dataclass(frozen=True)
class CastVote:
    comment_id: str
    value: int


@dataclass(frozen=True)
class EditComment:
    comment_id: str
    body: str
    format: str | None = None  # None: the comment's current format


@dataclass(frozen=True)
class DeleteComment:
    comment_id: str
    reason: str = ""


@dataclass(frozen=True)
class ErasePerson:
    """Destroy a person's key: their sealed name, email and IP hash become unreadable everywhere."""

    person: str  # "guest:<token>" or "user:<pk>"
    bodies: str = "kept"  # or "hidden"
