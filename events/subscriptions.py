"""Events of subscriptions and reader accounts (docs/notifications.md).

They live on the stream `system:subscriptions` (not a thread key, so the thread projection ignores them). The
subscriber's e-mail address is never in the log in plain text: it is sealed with the key of the person who asked
(events.people), so `threadlog erase-person` makes it unreadable for good and ends their subscriptions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .types import Event, event

SUBSCRIPTIONS_STREAM = "system:subscriptions"
NOTIFY_KINDS = ("comments", "replies")
END_REASONS = ("unsubscribed", "bounced", "erased")


@event
@dataclass(frozen=True)
class SubscriptionRequested(Event):
    """Someone asked to be told of new comments (`comments`) or of replies to their own (`replies`) in a thread.

    Nothing but one confirmation message goes to the address until it is confirmed (double opt-in)."""

    type: ClassVar[str] = "SubscriptionRequested"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("person", "sealed_email")
    subscription_id: str
    thread: str
    notify: str  # "comments" | "replies"
    person: str  # who asked ("guest:…", "reader:…", "user:…"): the owner of the key sealing the address
    sealed_email: str  # {"email": …} sealed with the person's key (events.sealing)


@event
@dataclass(frozen=True)
class SubscriptionConfirmed(Event):
    """The address owner opened the confirmation link: the address is proven, its pending subscriptions start."""

    type: ClassVar[str] = "SubscriptionConfirmed"
    version: ClassVar[int] = 1
    subscription_id: str


@event
@dataclass(frozen=True)
class SubscriptionEnded(Event):
    type: ClassVar[str] = "SubscriptionEnded"
    version: ClassVar[int] = 1
    subscription_id: str
    why: str  # "unsubscribed" | "bounced" | "erased"


@event
@dataclass(frozen=True)
class GuestLinked(Event):
    """A reader signed in by e-mail from a browser that had posted as a guest: that guest's comments are theirs
    from now on (they may edit them within the window, replies to them reach the reader)."""

    type: ClassVar[str] = "GuestLinked"
    version: ClassVar[int] = 1
    personal: ClassVar[tuple[str, ...]] = ("guest", "reader")
    guest: str
    reader: str
