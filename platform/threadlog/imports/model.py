"""What every format is read into: threads of comments as the source had them, before any decision.

The readers (wordpress.py, disqus.py, isso.py) only translate; what is imported, placed or skipped, and why, is
decided once for all formats in plan.py.
"""
from __future__ import annotations

import enum
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone


NAMESPACE = uuid.UUID("6f6c6774-6872-4c6f-9769-6d706f727473")  # fixed: ids must be the same in every import


def comment_uuid(fmt: str, key: str, source_id: str) -> str:
    """Our id of a source comment: the same in every import of it (plan.py recognises what is imported already)."""
    return str(uuid.uuid5(NAMESPACE, f"{fmt}\n{key}\n{source_id}"))


_PLAIN_TIME = re.compile(r"\A\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}\Z")


class ImportFileError(Exception):
    """The file cannot be imported (malformed, truncated, unknown format, a required field missing).

    The message names the line or the item (by position and source id), never a person's name, e-mail or text."""


class Status(enum.Enum):
    APPROVED = "approved"
    PENDING = "pending"  # held for moderation in the source (WordPress comment_approved = 0)
    SPAM = "spam"
    TRASH = "trash"  # deleted in the source (WordPress trash, Disqus isDeleted, Isso mode 4)
    PINGBACK = "pingback"  # WordPress pingbacks and trackbacks: not comments anyone wrote here


@dataclass(slots=True)
class SourceComment:
    id: str  # the source's id (unique in the thread)
    parent_id: str | None
    author_name: str
    author_email: str
    body: str  # plain text, converted from the source's HTML (html_text.py)
    created_at: str  # ISO-8601 UTC, as events.store.now_iso writes it
    status: Status = Status.APPROVED
    up: int = 0
    down: int = 0
    order: int = 0  # position in the file: ties on time keep it
    uid: str = ""  # our comment id (comment_uuid), once the thread's key is known (reading.prepared)
    html: str | None = None  # the body rendered as the projection renders it (reading.prepared)


@dataclass
class SourceThread:
    id: str  # the source's id of the page, or its link when it has none
    url: str
    title: str
    created_at: str | None = None
    comments: list[SourceComment] = field(default_factory=list)
    key: str = ""  # our thread key for its URL (reading.prepared)
    ordered: bool = False  # `comments` are the ones to post, in order, parents resolved (order.order_thread)


@dataclass
class Tally:
    """What an import did (or, dry, would do): the summary printed at the end."""

    format: str = ""
    threads: int = 0  # threads opened
    threads_extended: int = 0  # existing threads that got new comments
    comments: int = 0  # comments posted (placeholders included)
    placeholders: int = 0  # deleted comments kept as placeholders for their replies
    votes: int = 0  # imported up + down votes
    already_imported: int = 0
    events: int = 0
    first_position: int | None = None
    last_position: int | None = None
    dry_run: bool = False
    skipped: Counter = field(default_factory=Counter)  # reason -> how many comments (or threads)
    notes: Counter = field(default_factory=Counter)  # untidy but imported: reason -> how many

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] += n

    def note(self, reason: str, n: int = 1) -> None:
        self.notes[reason] += n

    def as_json(self) -> dict:
        return {
            "format": self.format, "dry_run": self.dry_run, "threads": self.threads,
            "threads_extended": self.threads_extended, "comments": self.comments,
            "placeholders": self.placeholders, "votes": self.votes, "already_imported": self.already_imported,
            "events": self.events, "first_position": self.first_position, "last_position": self.last_position,
            "skipped": dict(sorted(self.skipped.items())), "notes": dict(sorted(self.notes.items())),
        }

    def lines(self) -> list[str]:
        verb = "would import" if self.dry_run else "imported"
        out = [f"{verb} ({self.format}): {_n(self.threads, 'new thread')}, {_n(self.threads_extended, 'thread')}"
               f" extended, {_n(self.comments, 'comment')} ({_n(self.placeholders, 'deleted placeholder')}), "
               f"{_n(self.votes, 'vote')}; {_n(self.already_imported, 'comment')} already imported"]
        if self.first_position is not None and not self.dry_run:
            out.append(f"events {self.first_position}..{self.last_position} ({self.events})")
        for reason, n in sorted(self.skipped.items()):
            out.append(f"skipped {n}: {reason}")
        for reason, n in sorted(self.notes.items()):
            out.append(f"note {n}: {reason}")
        return out


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> str | None:
    """ISO-8601 or "YYYY-MM-DD HH:MM:SS" (UTC when no zone) -> our ISO form; None when empty or unreadable
    (WordPress writes 0000-00-00 00:00:00 for an unknown time)."""
    text = (text or "").strip()
    if not text or text.startswith("0000"):
        return None
    if _PLAIN_TIME.match(text):  # WordPress and Isso: "2019-05-06 10:30:00", UTC
        return f"{text[:10]}T{text[11:19]}.000000Z"
    try:
        return iso_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None
