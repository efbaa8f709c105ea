"""Moderation events: a comment's status changes, reports, bans and thread moderation, each with who and why.

A held comment is a `CommentPosted` (unchanged) followed in the same append by `CommentHeld`; it becomes
public with `CommentApproved`. Subscribers rely on exactly these names and on `comment_id`. The moderator's
id and a reporter's or banned person's identity are personal: public readers never see them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .types import Event, event

# Why a comment waits. The first five and "spam" (the honeypot) hold a new comment, in its own append right after its
# CommentPosted; the others take a published comment back: readers' reports, or an edit that broke a text rule.
HOLD_REASONS = ("first", "all", "links", "words", "premoderation", "reports", "spam", "edit_links", "edit_words")
HOLDS_OF_PUBLISHED = frozenset({"reports", "edit_links", "edit_words"})


@event
@dataclass(frozen=True)
class CommentHeld(Event):
    """The comment waits for a moderator (new: never shown; or published and reported: taken back)."""

    type: ClassVar[str] = "CommentHeld"
    version: ClassVar[int] = 1
    comment_id: str
    reason: str  # one of HOLD_REASONS


@dataclass(frozen=True)
class _Moderated(Event):
    """A moderator's decision on one comment."""

    personal: ClassVar[tuple[str, ...]] = ("moderator",)
    comment_id: str
    moderator: str
    reason: str = ""


@event
@dataclass(frozen=True)
class CommentApproved(_Moderated):
    type: ClassVar[str] = "CommentApproved"


@event
@dataclass(frozen=True)
class CommentRejected(_Moderated):
    type: ClassVar[str] = "CommentRejected"


@event
@dataclass(frozen=True)
class CommentHidden(_Moderated):
    type: ClassVar[str] = "CommentHidden"


@event
@dataclass(frozen=True)
class CommentRestored(_Moderated):
    type: ClassVar[str] = "CommentRestored"


@event
@dataclass(frozen=True)
class CommentMarkedSpam(_Moderated):
    type: ClassVar[str] = "CommentMarkedSpam"


@event
@dataclass(frozen=True)
class CommentPinned(_Moderated):
    type: ClassVar[str] = "CommentPinned"


@event
@dataclass(frozen=True)
class CommentUnpinned(_Moderated):
    type: ClassVar[str] = "CommentUnpinned"


@event
@dataclass(frozen=True)
class CommentReported(Event):
    type: ClassVar[str] = "CommentReported"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("reporter", "note")
    comment_id: str
    reporter: str
    reason: str  # spam | abuse | off_topic | other
    note: str = ""


@event
@dataclass(frozen=True)
class PersonBanned(Event):
    """On the moderation stream. `subject` is the author id ("guest:…", "user:…") or an IP hash ("ip:…")."""

    type: ClassVar[str] = "PersonBanned"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("subject", "moderator")
    ban_id: str
    scope: str  # person | ip
    subject: str
    moderator: str
    reason: str = ""
    until: str | None = None  # ISO time; None: until lifted
    comment_id: str | None = None  # the comment the ban was issued from
    hide_comments: bool = False


@event
@dataclass(frozen=True)
class BanLifted(Event):
    type: ClassVar[str] = "BanLifted"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("moderator",)
    ban_id: str
    moderator: str
    reason: str = ""


@dataclass(frozen=True)
class _ThreadModerated(Event):
    personal: ClassVar[tuple[str, ...]] = ("moderator",)
    moderator: str
    reason: str = ""


@event
@dataclass(frozen=True)
class ThreadClosed(_ThreadModerated):
    type: ClassVar[str] = "ThreadClosed"


@event
@dataclass(frozen=True)
class ThreadReopened(_ThreadModerated):
    type: ClassVar[str] = "ThreadReopened"


@event
@dataclass(frozen=True)
class ThreadModerationChanged(Event):
    type: ClassVar[str] = "ThreadModerationChanged"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("moderator",)
    premoderated: bool
    moderator: str
    reason: str = ""


COMMENT_DECISIONS = ("CommentApproved", "CommentRejected", "CommentHidden", "CommentRestored", "CommentMarkedSpam",
                     "CommentPinned", "CommentUnpinned")
MODERATION_TYPES = frozenset(COMMENT_DECISIONS + ("CommentHeld", "CommentReported", "PersonBanned", "BanLifted",
                                                  "ThreadClosed", "ThreadReopened", "ThreadModerationChanged"))
