"""Subscription commands and their handlers, registered with threadlog.commands (the only callers of append).

Handlers decide against Subscription and IdentityLink, which they keep current themselves: each applies its events
to them (subscriptions.py) in the transaction that appends them, under the append lock. So a request reads every
earlier one's rows, two at once are decided one after the other, and a confirmation or an unsubscribe finds a
subscription asked for a moment before. Every handler is idempotent: asking again, confirming or ending twice
appends nothing (asking again after RESEND_SECONDS appends the request again, for a new confirmation message).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from events.people import person_key, seal
from events.sql import fetch_all
from events.store import ANY, EventStore
from events.subscriptions import (END_REASONS, NOTIFY_KINDS, SUBSCRIPTIONS_STREAM, GuestLinked, SubscriptionConfirmed,
                                  SubscriptionEnded, SubscriptionRequested)
from projections.ranking import epoch_seconds
from threadlog.commands.errors import CommandError, not_found
from threadlog.commands.handlers import HANDLERS, Actor, Result, _commit
from threadlog.commands.messages import ErasePerson

from . import subscriptions
from .models import IdentityLink, Subscription
from .tokens import address_of


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
    open_only: bool = False  # an ended subscription is not found (DELETE /api/subscriptions/{id}); else a no-op


@dataclass(frozen=True)
class LinkGuest:
    guest: str
    reader: str


def _append(store: EventStore, events: list, actor: Actor, idempotency_key: str | None, key: str | None = None,
            **known) -> Result:
    """Append, then apply the events to the handlers' tables in the same transaction (handle() holds it open
    until the handler returns: the rows commit with the events, or neither does). `known`: facts the handler read
    already, handed to subscriptions.requested."""
    recorded, _ = _commit(store, SUBSCRIPTIONS_STREAM, events, expected=ANY, actor=actor,
                          idempotency_key=idempotency_key, key=key)
    for ev in recorded:
        subscriptions.APPLY[ev.type](ev, using=store.using, **(known if ev.type == "SubscriptionRequested" else {}))
    return Result(recorded, SUBSCRIPTIONS_STREAM, getattr(events[0], "subscription_id", ""), recorded[-1].position)


def _nothing(subscription_id: str = "") -> Result:
    return Result([], SUBSCRIPTIONS_STREAM, subscription_id, 0)


def request_subscription(cmd: RequestSubscription, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    """A new subscription, unless the address has an open one (requested or confirmed) of the same thread and kind:
    then nothing, or, when it still waits for its confirmation and was last asked for RESEND_SECONDS ago or more,
    its request again (the notifier sends a new confirmation if the address had none for as long)."""
    if cmd.notify not in NOTIFY_KINDS:
        raise CommandError("invalid_request", "notify must be comments or replies", 422)
    email = cmd.email.strip()
    address = address_of(email)
    mine = fetch_all(store.using, "SELECT id, thread_key, notify, state, asked_at, confirmed_position, position"
                                  " FROM notify_subscription WHERE address = %s", [address])  # on every subscribe
    twins = [m for m in mine if m[1] == cmd.thread and m[2] == cmd.notify and m[3] != "ended"]
    if twins:
        if any(t[3] == "confirmed" for t in twins):
            return _nothing(twins[0][0])
        last = max(twins, key=lambda t: t[4])
        if last[4] and time.time() - epoch_seconds(last[4]) < settings.NOTIFY["RESEND_SECONDS"]:
            return _nothing(last[0])
        subscription_id, new = last[0], False
    else:
        subscription_id, new = str(uuid.uuid4()), True
    key = person_key(actor.id, using=store.using)
    sealed = seal(actor.id, {"email": email}, using=store.using, key=key)
    event = SubscriptionRequested(subscription_id=subscription_id, thread=cmd.thread, notify=cmd.notify,
                                  person=actor.id, sealed_email=sealed)
    return _append(store, [event], actor, idempotency_key, key, address=address,
                   proven_at=subscriptions.first_proof((m[5], m[3], m[6]) for m in mine), new=new)


def _subscription(subscription_id: str, using: str) -> Subscription:
    row = Subscription.objects.using(using).filter(pk=subscription_id).first()
    if row is None:
        raise not_found("subscription", subscription_id)
    return row


def confirm_subscription(cmd: ConfirmSubscription, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    row = _subscription(cmd.subscription_id, store.using)
    if row.state == "ended":
        raise CommandError("subscription_ended", "this subscription has ended; subscribe again from the page", 410)
    if row.state == "confirmed":
        return _nothing(row.id)
    return _append(store, [SubscriptionConfirmed(subscription_id=row.id)], actor, idempotency_key)


def end_subscription(cmd: EndSubscription, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    """End the subscription and every other open one of its address, thread and kind (duplicates that older
    versions let in would go on sending the same mail)."""
    if cmd.why not in END_REASONS:
        raise CommandError("invalid_request", f"why must be one of {', '.join(END_REASONS)}", 422)
    row = _subscription(cmd.subscription_id, store.using)
    if row.state == "ended":  # unsubscribing twice is fine (a link); the API says it is gone
        if cmd.open_only:
            raise not_found("subscription", cmd.subscription_id)
        return _nothing(row.id)
    twins = [] if not row.address else list(
        Subscription.objects.using(store.using).filter(address=row.address, thread_key=row.thread_key,
                                                       notify=row.notify).exclude(pk=row.id).exclude(state="ended")
        .order_by("position").values_list("id", flat=True))
    events = [SubscriptionEnded(subscription_id=s, why=cmd.why) for s in [row.id, *twins]]
    return _append(store, events, actor, idempotency_key)


def link_guest(cmd: LinkGuest, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    if not cmd.guest.startswith("guest:") or not cmd.reader.startswith("reader:"):
        raise CommandError("invalid_request", "only a guest can be linked to a reader", 422)
    if IdentityLink.objects.using(store.using).filter(guest=cmd.guest, reader=cmd.reader).exists():
        return _nothing()
    return _append(store, [GuestLinked(guest=cmd.guest, reader=cmd.reader)], actor, idempotency_key)


_erase_person = HANDLERS[ErasePerson]


def erase_person(cmd: ErasePerson, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    """Erasure as before, and in the same transaction the end of every subscription of that person (why: erased),
    recorded as SubscriptionEnded after the PersonErased (which, applied first, has ended them already)."""
    live = list(Subscription.objects.using(store.using).filter(person=cmd.person).exclude(state="ended")
                .order_by("id").values_list("id", flat=True))
    result = _erase_person(cmd, actor, store, idempotency_key)
    subscriptions.apply(result.recorded, using=store.using)
    if live:
        _append(store, [SubscriptionEnded(subscription_id=s, why="erased") for s in live],
                Actor(actor.id, is_staff=True), None)
    return result


HANDLERS.update({
    RequestSubscription: request_subscription,
    ConfirmSubscription: confirm_subscription,
    EndSubscription: end_subscription,
    LinkGuest: link_guest,
    ErasePerson: erase_person,
})
