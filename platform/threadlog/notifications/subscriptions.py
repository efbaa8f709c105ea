"""Subscriptions and identity links as the handlers decide on them: one function per event, applying it to the
tables (Subscription, IdentityLink).

The handlers (commands.py) call them in the append transaction that records the event, so an action's events and
its rows commit together or not at all, and the next request reads them. The notifier calls them for every such
event it reads: by then they are applied and change nothing, unless the event was appended without them (a
rebuild, a log written before, a benchmark's direct appends), which they then apply.

Every function is idempotent and keyed by position: a row records where it was confirmed and where it ended, and
an event changes only what it changed when applied in order. Applying an event twice, or after later ones, gives
the tables that applying the log in order gives.
"""
from __future__ import annotations

from typing import Any, Iterable, Protocol

from django.db.models import Case, F, Q, Value, When

from events.people import KeyRing
from events.sql import execute
from events.store import EventStore
from events.subscriptions import SUBSCRIPTIONS_STREAM

from .models import IdentityLink, Subscription
from .tokens import address_of

UNKNOWN: Any = object()  # a fact the caller did not look up: the function reads it
_INSERT = ("INSERT INTO notify_subscription (id, thread_key, notify, person, sealed_email, address, state, ended_why,"
           " requested_at, position, confirmed_position, ended_position, asked_at)"
           " VALUES (%s, %s, %s, %s, %s, %s, %s, '', %s, %s, %s, NULL, %s)")


class Applied(Protocol):  # a RecordedEvent or a ProjectionEvent
    position: int
    type: str
    data: dict[str, Any]
    recorded_at: str


def requested_as_of(position: int, confirmed_position: int | None, ended_position: int | None) -> bool:
    """Whether a subscription (requested before `position`) was still waiting for its confirmation there."""
    return ((confirmed_position is None or confirmed_position > position)
            and (ended_position is None or ended_position > position))


def first_proof(rows: Iterable[tuple[int | None, str, int]]) -> int | None:
    """Where an address was first proven, from its subscriptions' (confirmed_position, state, position): the
    earliest confirmation (a row an older version confirmed has none: its request's position stands in)."""
    proofs = [confirmed if confirmed is not None else position for confirmed, state, position in rows
              if confirmed is not None or state == "confirmed"]
    return min(proofs) if proofs else None


def requested(ev: Applied, *, using: str, keys: KeyRing | None = None, address: str | None = UNKNOWN,
              proven_at: int | None = UNKNOWN, new: bool = False) -> None:
    """SubscriptionRequested: a new row, or (the same id again) a later request of it: `asked_at` moves.

    The row starts confirmed when its address was proven (any subscription of the address confirmed): at this
    position, or where the proof came if that is later (applied after it: the proof's confirmation would have
    confirmed this row too). A handler passes what it knows already: the `address` (from the plain address), its
    earliest confirmation `proven_at`, and `new` (the id was just made)."""
    data, rows = ev.data, Subscription.objects.using(using)
    sid = data["subscription_id"]
    if not new:
        asked = rows.filter(pk=sid).values_list("asked_at", flat=True).first()
        if asked is not None:
            if asked < ev.recorded_at:
                rows.filter(pk=sid).update(asked_at=ev.recorded_at)
            return
    if address is UNKNOWN:
        fields = (keys or KeyRing(using)).unseal(data["person"], data["sealed_email"])
        email = (fields or {}).get("email")
        address = address_of(email) if email else None  # None: erased since (PersonErased ends it)
    if proven_at is UNKNOWN:
        proven_at = first_proof(rows.filter(address=address).values_list("confirmed_position", "state", "position")
                                ) if address else None
    confirmed_at = None if proven_at is None else max(proven_at, ev.position)
    execute(using, _INSERT, [sid, data["thread"], data["notify"], data["person"], data["sealed_email"], address,
                             "requested" if confirmed_at is None else "confirmed", ev.recorded_at, ev.position,
                             confirmed_at, ev.recorded_at])  # plain SQL: on every subscribe (events.sql)


def _after(field: str, at: int) -> Q:
    """`field` (a position) not reached at `at`: never, or later — requested_as_of's rule, in SQL."""
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gt": at})


def confirmed(ev: Applied, *, using: str, **_: Any) -> None:
    """SubscriptionConfirmed: the address is proven, so every subscription of it that was waiting then is confirmed
    (the named one alone if its address is unknown: erased)."""
    rows = Subscription.objects.using(using)
    sid, at = ev.data["subscription_id"], ev.position
    found = rows.filter(pk=sid).values_list("address", "confirmed_position", "ended_position").first()
    if found is None or not requested_as_of(at, found[1], found[2]):
        return
    waiting = (rows.filter(address=found[0]) if found[0] else rows.filter(pk=sid)).filter(
        _after("confirmed_position", at), _after("ended_position", at), position__lt=at)
    waiting.update(confirmed_position=at,
                   state=Case(When(ended_position__isnull=True, then=Value("confirmed")), default=F("state")))


def ended(ev: Applied, *, using: str, **_: Any) -> None:
    """SubscriptionEnded (unsubscribed, bounced, erased); ending an ended one changes nothing."""
    at = ev.position
    Subscription.objects.using(using).filter(
        _after("ended_position", at), pk=ev.data["subscription_id"]).update(
        state="ended", ended_why=ev.data.get("why", ""), ended_position=at)


def person_erased(ev: Applied, *, using: str, **_: Any) -> None:
    """PersonErased: their subscriptions until then end (why: erased) and forget the address."""
    at = ev.position
    theirs = Subscription.objects.using(using).filter(person=ev.data["person"], position__lt=at)
    theirs.filter(_after("ended_position", at)).update(
        state="ended", ended_why="erased", ended_position=at)
    theirs.exclude(sealed_email="", address=None).update(sealed_email="", address=None)


def guest_linked(ev: Applied, *, using: str, **_: Any) -> None:
    """GuestLinked: the guest is the reader's from here on (a later link of the same guest wins)."""
    links, at = IdentityLink.objects.using(using), ev.position
    guest, reader = ev.data["guest"], ev.data["reader"]
    if not links.filter(guest=guest, position__lt=at).update(reader=reader, position=at):
        if not links.filter(guest=guest).exists():
            IdentityLink(guest=guest, reader=reader, position=at).save(using=using, force_insert=True)


APPLY = {
    "SubscriptionRequested": requested,
    "SubscriptionConfirmed": confirmed,
    "SubscriptionEnded": ended,
    "PersonErased": person_erased,
    "GuestLinked": guest_linked,
}


def apply(events: Iterable[Applied], *, using: str, keys: KeyRing | None = None) -> int:
    """Apply each event these tables follow (others are skipped); how many it applied."""
    count = 0
    for ev in events:
        function = APPLY.get(ev.type)
        if function is not None:
            function(ev, using=using, keys=keys)
            count += 1
    return count


def rebuild(store: EventStore) -> int:
    """The tables again from the log, in one transaction under the append lock: a handler never decides on them
    half rebuilt. Reads only the streams these events live on. Returns the events applied."""
    from threadlog.commands.handlers import PEOPLE_STREAM

    using = store.using
    with store.write_transaction():
        Subscription.objects.using(using).all().delete()
        IdentityLink.objects.using(using).all().delete()
        return apply(store.iter_for_projection(streams=[SUBSCRIPTIONS_STREAM, PEOPLE_STREAM]), using=using,
                     keys=KeyRing(using))
