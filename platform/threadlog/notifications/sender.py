"""The sender: hands outbox rows to the e-mail back end (SMTP) and marks each one sent.

A row is claimed (a lease of LEASE_SECONDS) before it is sent and marked sent right after the server accepted it,
one row at a time: a crash between the two resends only that one message, a crash before leaves it pending, so no
message is ever skipped. A failure (server away, temporary 4xx) is retried with exponential back-off
(NOTIFY_RETRY_SECONDS, doubled each time) and given up after NOTIFY_MAX_ATTEMPTS, visibly: status `failed` in
`threadlog notify status`. A permanent refusal of the address (5xx) ends the subscription (why: bounced).
"""
from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import datetime, timedelta, timezone
from itertools import groupby

from django.conf import settings
from django.core.mail import get_connection
from django.db.models import Q

from events.people import KeyRing
from events.store import EventStore, get_store

from . import mail
from .models import NotifyAddress, OutboxMessage
from .notifier import own_write

log = logging.getLogger(__name__)
LEASE_SECONDS = 120
BATCH = 200


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _free(now: datetime) -> Q:
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: NOTIFY_RETRY_SECONDS, doubled per failure, at most six hours."""
    return min(settings.NOTIFY["RETRY_SECONDS"] * 2 ** max(0, attempts - 1), 6 * 3600)


def _permanent(exc: BaseException) -> bool:
    """The server refused this recipient (or message) for good: 5xx."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return isinstance(exc, (smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) and exc.smtp_code >= 500


class Sender:
    def __init__(self, store: EventStore | None = None):
        self.store = store or get_store()
        self.me = uuid.uuid4().hex
        self.keys = KeyRing(self.store.using)

    def _write(self, qs, **values) -> int:
        with own_write(self.store):
            return qs.update(**values)

    def claim(self, limit: int = BATCH) -> list[OutboxMessage]:
        now = _now()
        due = OutboxMessage.objects.filter(status="pending", due_at__lte=now).filter(_free(now))
        ids = list(due.order_by("id").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        self._write(OutboxMessage.objects.filter(id__in=ids, status="pending").filter(_free(now)),
                    claimed_until=now + timedelta(seconds=LEASE_SECONDS), claimed_by=self.me)
        return list(OutboxMessage.objects.filter(id__in=ids, claimed_by=self.me, status="pending").order_by("id"))

    def send_due(self, limit: int = BATCH) -> int:
        """Send what is due (one batch). Returns the number of messages handed to the server."""
        rows = self.claim(limit)
        if not rows:
            return 0
        self.keys = KeyRing(self.store.using)  # keys erased since the last batch stay erased
        groups = self._groups(rows)
        self.cache = mail.Cache()
        connection = get_connection()
        try:
            connection.open()
        except Exception as exc:  # noqa: BLE001 (any failure to connect is retried)
            for group in groups:
                self._retry(group, exc)
            return 0
        sent = 0
        try:
            for index, group in enumerate(groups):
                try:
                    message = self._build(group)
                except mail.Drop as exc:
                    self._finish(group, "dropped", str(exc))
                    continue
                if message is None:
                    continue
                try:
                    connection.send_messages([message])
                except Exception as exc:  # noqa: BLE001
                    if _permanent(exc):
                        self._bounced(group, exc)
                        continue
                    self._retry(group, exc)
                    for rest in groups[index + 1:]:  # the connection is suspect: the rest go back, untouched
                        self._release(rest)
                    break
                self._finish(group, "sent")
                sent += 1
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001
                log.debug("closing the mail connection failed", exc_info=True)
        return sent

    def _groups(self, rows: list[OutboxMessage]) -> list[list[OutboxMessage]]:
        """One message per row; with NOTIFY_DIGEST_SECONDS, one per recipient for their comments and replies,
        and only if their last digest is at least that long ago (the others wait, claimed rows released)."""
        period = settings.NOTIFY["DIGEST_SECONDS"]
        if not period:
            return [[row] for row in rows]
        groups: list[list[OutboxMessage]] = [[r] for r in rows if r.kind not in ("comment", "reply")]
        items = sorted((r for r in rows if r.kind in ("comment", "reply")), key=lambda r: (r.recipient, r.id))
        now = _now()
        last = dict(NotifyAddress.objects.filter(address__in={r.recipient for r in items}).values_list(
            "address", "last_digest_at"))
        for recipient, group in groupby(items, key=lambda r: r.recipient):
            group = list(group)
            # everything pending for this recipient goes in the one message, not only this batch's share
            more = OutboxMessage.objects.filter(recipient=recipient, status="pending", kind__in=("comment", "reply"))
            extra = list(more.exclude(id__in=[g.id for g in group]).filter(_free(now)).values_list("id", flat=True))
            if extra:
                self._write(OutboxMessage.objects.filter(id__in=extra).filter(_free(now)), claimed_by=self.me,
                            claimed_until=now + timedelta(seconds=LEASE_SECONDS))
                group += list(OutboxMessage.objects.filter(id__in=extra, claimed_by=self.me, status="pending"))
            when = last.get(recipient)
            if when is not None and when > now - timedelta(seconds=period):
                wait = when + timedelta(seconds=period)
                self._write(OutboxMessage.objects.filter(id__in=[g.id for g in group]), due_at=wait,
                            claimed_until=None, claimed_by="")
                continue
            groups.append(sorted(group, key=lambda r: r.id))
        return groups

    def _build(self, group: list[OutboxMessage]):
        first = group[0]
        fields = self.keys.unseal(first.person, first.sealed_to)
        to = (fields or {}).get("email")
        if not to:
            raise mail.Drop("the address was erased")
        if first.kind == "confirm":
            return mail.confirmation(first, to)
        if first.kind == "signin":
            return mail.signin(first, to)
        return mail.notification(group, to, self.cache)

    def _ids(self, group: list[OutboxMessage]) -> list[int]:
        return [r.id for r in group]

    def _finish(self, group: list[OutboxMessage], status: str, error: str = "") -> None:
        now = _now()
        values = {"status": status, "claimed_until": None, "last_error": error}
        if status == "sent":
            values["sent_at"] = now
            values["attempts"] = group[0].attempts + 1
        self._write(OutboxMessage.objects.filter(id__in=self._ids(group), claimed_by=self.me), **values)
        if status == "sent" and settings.NOTIFY["DIGEST_SECONDS"] and group[0].kind in ("comment", "reply"):
            with own_write(self.store):
                NotifyAddress.objects.update_or_create(address=group[0].recipient, defaults={"last_digest_at": now})

    def _release(self, group: list[OutboxMessage]) -> None:
        self._write(OutboxMessage.objects.filter(id__in=self._ids(group), claimed_by=self.me),
                    claimed_until=None, claimed_by="")

    def _retry(self, group: list[OutboxMessage], exc: BaseException) -> None:
        attempts = group[0].attempts + 1
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if attempts >= settings.NOTIFY["MAX_ATTEMPTS"]:
            log.error("giving up on outbox message %s after %d attempts: %s", group[0].id, attempts, error)
            self._write(OutboxMessage.objects.filter(id__in=self._ids(group), claimed_by=self.me), status="failed",
                        attempts=attempts, last_error=error, claimed_until=None)
            return
        log.warning("outbox message %s failed (attempt %d), retrying: %s", group[0].id, attempts, error)
        self._write(OutboxMessage.objects.filter(id__in=self._ids(group), claimed_by=self.me), attempts=attempts,
                    last_error=error, claimed_until=None, claimed_by="",
                    due_at=_now() + timedelta(seconds=backoff(attempts)))

    def _bounced(self, group: list[OutboxMessage], exc: BaseException) -> None:
        """The server refused the address for good: give the message up and end the subscription."""
        from threadlog.commands import Actor, CommandError, handle

        from .commands import EndSubscription

        self._write(OutboxMessage.objects.filter(id__in=self._ids(group), claimed_by=self.me), status="failed",
                    attempts=group[0].attempts + 1, last_error=f"bounced: {exc}"[:1000], claimed_until=None)
        if group[0].subscription_id:
            try:
                handle(EndSubscription(group[0].subscription_id, "bounced"), Actor("system:notifier"),
                       store=self.store)
            except CommandError:
                pass


def status(store: EventStore | None = None) -> dict:
    """What `threadlog notify status` prints: the notifier's lag and the outbox by status."""
    from django.db.models import Count, Min

    from .notifier import checkpoint

    store = store or get_store()
    counts = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    pending = OutboxMessage.objects.filter(status="pending")
    retrying = pending.filter(attempts__gt=0)
    failed = OutboxMessage.objects.filter(status="failed").order_by("-id")
    oldest = pending.aggregate(m=Min("created_at"))["m"]
    return {
        "checkpoint": checkpoint(store.using),
        "head": store.head(),
        "pending": counts.get("pending", 0),
        "retrying": retrying.count(),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "dropped": counts.get("dropped", 0),
        "oldest_pending": oldest.isoformat() if oldest else None,
        "max_attempts": settings.NOTIFY["MAX_ATTEMPTS"],
        "recent_failures": [
            {"id": r.id, "kind": r.kind, "thread": r.thread_key, "attempts": r.attempts, "error": r.last_error,
             "created_at": r.created_at.isoformat()} for r in failed[:10]],
        "retries": [
            {"id": r.id, "kind": r.kind, "attempts": r.attempts, "next_attempt": r.due_at.isoformat(),
             "error": r.last_error} for r in retrying.order_by("due_at")[:10]],
    }
