"""Subscription commands and their handlers, registered with threadlog.commands (the only callers of append).

Handlers decide against the notifier's read model (models.Subscription), which trails the log by the notifier's
lag (well under a second): a confirmation or an unsubscribe arrives by a link the notifier itself sent, so the
subscription it names is known by then. Every handler is idempotent: confirming or ending twice appends once.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from events.people import person_key, seal
from events.store import ANY, EventStore
from events.subscriptions import (END_REASONS, NOTIFY_KINDS, SUBSCRIPTIONS_STREAM, GuestLinked, SubscriptionConfirmed,
                                  SubscriptionEnded, SubscriptionRequested)
from threadlog.commands.errors import CommandError, not_found
from threadlog.commands.handlers import HANDLERS, Actor, Result, _commit
from threadlog.commands.messages import ErasePerson

from .models import IdentityLink, Subscription


@dataclass(frozen=True)
class RequestSubscription:
    thread: str
    email: str
    notify: str  # comments | replies


@dataclass(frozen=True)
class ConfirmSubscription:
    subscription_id: str


@dataclass(frozen=True)
class EndSubscription:
    subscription_id: str
    why: str = "unsubscribed"


@dataclass(frozen=True)
class LinkGuest:
    guest: str
    reader: str


def _append(store: EventStore, events: list, actor: Actor, idempotency_key: str | None, key: str | None = None) -> Result:
    recorded, _ = _commit(store, SUBSCRIPTIONS_STREAM, events, expected=ANY, actor=actor,
                          idempotency_key=idempotency_key, key=key)
    subscription_id = getattr(events[0], "subscription_id", "")
    return Result(recorded, SUBSCRIPTIONS_STREAM, subscription_id, recorded[-1].position)


def request_subscription(cmd: RequestSubscription, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    if cmd.notify not in NOTIFY_KINDS:
        raise CommandError("invalid_request", "notify must be comments or replies", 422)
    key = person_key(actor.id, using=store.using)
    sealed = seal(actor.id, {"email": cmd.email.strip()}, using=store.using, key=key)
    event = SubscriptionRequested(subscription_id=str(uuid.uuid4()), thread=cmd.thread, notify=cmd.notify,
                                  person=actor.id, sealed_email=sealed)
    return _append(store, [event], actor, idempotency_key, key)


def _subscription(subscription_id: str) -> Subscription:
    row = Subscription.objects.filter(pk=subscription_id).first()
    if row is None:
        raise not_found("subscription", subscription_id)
    return row


def confirm_subscription(cmd: ConfirmSubscription, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    row = _subscription(cmd.subscription_id)
    if row.state == "ended":
        raise CommandError("subscription_ended", "this subscription has ended; subscribe again from the page", 410)
    if row.state == "confirmed":
        return Result([], SUBSCRIPTIONS_STREAM, row.id, 0)
    return _append(store, [SubscriptionConfirmed(subscription_id=row.id)], actor, idempotency_key)


def end_subscription(cmd: EndSubscription, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    if cmd.why not in END_REASONS:
        raise CommandError("invalid_request", f"why must be one of {', '.join(END_REASONS)}", 422)
    row = _subscription(cmd.subscription_id)
    if row.state == "ended":  # unsubscribing twice is fine
        return Result([], SUBSCRIPTIONS_STREAM, row.id, 0)
    return _append(store, [SubscriptionEnded(subscription_id=row.id, why=cmd.why)], actor, idempotency_key)


def link_guest(cmd: LinkGuest, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    if not cmd.guest.startswith("guest:") or not cmd.reader.startswith("reader:"):
        raise CommandError("invalid_request", "only a guest can be linked to a reader", 422)
    if IdentityLink.objects.filter(guest=cmd.guest, reader=cmd.reader).exists():
        return Result([], SUBSCRIPTIONS_STREAM, "", 0)
    return _append(store, [GuestLinked(guest=cmd.guest, reader=cmd.reader)], actor, idempotency_key)


_erase_person = HANDLERS[ErasePerson]


def erase_person(cmd: ErasePerson, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    """Erasure as before, and in the same transaction the end of every subscription of that person (why: erased).

    The notifier also ends any of their subscriptions it learns of only later, on PersonErased itself."""
    result = _erase_person(cmd, actor, store, idempotency_key)
    live = list(Subscription.objects.filter(person=cmd.person).exclude(state="ended").values_list("id", flat=True))
    if live:
        ended = [SubscriptionEnded(subscription_id=s, why="erased") for s in sorted(live)]
        _commit(store, SUBSCRIPTIONS_STREAM, ended, expected=ANY, actor=Actor(actor.id, is_staff=True),
                idempotency_key=None)
    return result


HANDLERS.update({
    RequestSubscription: request_subscription,
    ConfirmSubscription: confirm_subscription,
    EndSubscription: end_subscription,
    LinkGuest: link_guest,
    ErasePerson: erase_person,
})
