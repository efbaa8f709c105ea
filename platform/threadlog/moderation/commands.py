"""Moderation commands and their handlers (registered in threadlog.commands.HANDLERS): decide against the read
models under the append lock, append all their events or none, like every handler."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.conf import settings

from events.moderation import (BanLifted, CommentApproved, CommentHeld, CommentHidden, CommentMarkedSpam,
                               CommentPinned, CommentRejected, CommentReported, CommentRestored, CommentUnpinned,
                               PersonBanned, ThreadClosed, ThreadModerationChanged, ThreadReopened)
from events.store import ANY, EventStore
from events.sql import fetch_one
from projections.queries import comment_by_id, thread_by_key
from projections.queue_models import Ban, QueueItem, Report
from projections.models import CommentView
from threadlog.commands.errors import CommandError, not_found
from threadlog.commands.handlers import HANDLERS, Actor, Result, _commit

from . import rules

MODERATION_STREAM = "system:moderation"  # bans: not a valid thread key, no reader opens it as a thread
COMMENT_ACTIONS = ("approve", "reject", "hide", "restore", "spam", "pin", "unpin")
THREAD_ACTIONS = ("close", "reopen", "premoderate", "unpremoderate")
REPORT_REASONS = ("spam", "abuse", "off_topic", "other")
BAN_SCOPES = ("person", "ip")


@dataclass(frozen=True)
class ModerateComment:
    comment_id: str
    action: str
    reason: str = ""


@dataclass(frozen=True)
class ModerateThread:
    thread: str
    action: str
    reason: str = ""


@dataclass(frozen=True)
class ReportComment:
    comment_id: str
    reason: str
    note: str = ""


@dataclass(frozen=True)
class BanPerson:
    comment_id: str
    scope: str
    reason: str = ""
    duration_seconds: int | None = None
    hide_comments: bool = False


@dataclass(frozen=True)
class LiftBan:
    ban_id: str
    reason: str = ""


def _staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise CommandError("staff_only", "only staff may moderate", 403)


# action -> (event class, the statuses it changes; a comment in any other status is left as it is)
_STATUS_ACTIONS = {
    "approve": (CommentApproved, {"pending", "rejected", "spam"}),
    "reject": (CommentRejected, {"pending", "published", "hidden", "spam"}),
    "hide": (CommentHidden, {"published", "pending"}),
    "restore": (CommentRestored, {"hidden", "rejected", "spam"}),
    "spam": (CommentMarkedSpam, {"pending", "published", "hidden", "rejected"}),
}


def moderate_comment(cmd: ModerateComment, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    _staff(actor)
    if cmd.action not in COMMENT_ACTIONS:
        raise CommandError("invalid_action", f"action must be one of {', '.join(COMMENT_ACTIONS)}", 422)
    comment = comment_by_id(cmd.comment_id, using=store.using)
    if comment is None:
        raise not_found("comment", cmd.comment_id)
    thread = thread_by_key(comment.thread_key, using=store.using)
    unchanged = Result([], thread.key, comment.id, thread.last_position, comment=comment)
    if comment.deleted:
        if cmd.action in ("approve", "restore", "pin"):
            raise CommandError("comment_deleted", "a deleted comment cannot be published or pinned", 409)
        return unchanged
    if cmd.action in _STATUS_ACTIONS:
        cls, changes = _STATUS_ACTIONS[cmd.action]
        if comment.status not in changes:
            return unchanged  # nothing to change: nothing appended
        events = [cls(comment_id=comment.id, moderator=actor.id, reason=cmd.reason)]
    elif cmd.action == "pin":
        if comment.pinned:
            return unchanged
        if comment.depth > 0:
            raise CommandError("cannot_pin_reply", "only top-level comments can be pinned", 409)
        if comment.status != "published":
            raise CommandError("comment_not_published", "only published comments can be pinned", 409)
        limit = settings.THREADLOG["MAX_PINNED"]
        pinned = CommentView.objects.using(store.using).filter(thread_key=thread.key, pinned__gt=0).count()
        if pinned >= limit:
            raise CommandError("too_many_pinned", f"a thread has at most {limit} pinned comments; unpin one first", 409)
        events = [CommentPinned(comment_id=comment.id, moderator=actor.id, reason=cmd.reason)]
    else:  # unpin
        if not comment.pinned:
            return unchanged
        events = [CommentUnpinned(comment_id=comment.id, moderator=actor.id, reason=cmd.reason)]
    recorded, projected = _commit(store, thread.key, events, expected=thread.stream_version, actor=actor,
                                  idempotency_key=idempotency_key, threads=(thread,), comments=(comment,))
    return Result(recorded, thread.key, comment.id, recorded[-1].position, comment=projected.comment(comment.id))


def moderate_thread(cmd: ModerateThread, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    _staff(actor)
    if cmd.action not in THREAD_ACTIONS:
        raise CommandError("invalid_action", f"action must be one of {', '.join(THREAD_ACTIONS)}", 422)
    thread = thread_by_key(cmd.thread, using=store.using)
    if thread is None:
        raise not_found("thread", cmd.thread)
    event = None
    if cmd.action == "close" and not thread.closed:
        event = ThreadClosed(moderator=actor.id, reason=cmd.reason)
    elif cmd.action == "reopen" and thread.closed:
        event = ThreadReopened(moderator=actor.id, reason=cmd.reason)
    elif cmd.action in ("premoderate", "unpremoderate") and thread.premoderated != (cmd.action == "premoderate"):
        event = ThreadModerationChanged(premoderated=cmd.action == "premoderate", moderator=actor.id,
                                        reason=cmd.reason)
    if event is None:
        return Result([], thread.key, "", thread.last_position)
    recorded, _ = _commit(store, thread.key, [event], expected=thread.stream_version, actor=actor,
                          idempotency_key=idempotency_key, threads=(thread,))
    return Result(recorded, thread.key, "", recorded[-1].position)


def report_comment(cmd: ReportComment, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    if cmd.reason not in REPORT_REASONS:
        raise CommandError("invalid_reason", f"reason must be one of {', '.join(REPORT_REASONS)}", 422)
    comment = comment_by_id(cmd.comment_id, using=store.using)
    if comment is None or comment.deleted or (comment.status != "published" and not actor.is_staff):
        raise not_found("comment", cmd.comment_id)  # nothing public to report
    thread = thread_by_key(comment.thread_key, using=store.using)
    if Report.objects.using(store.using).filter(comment_id=comment.id, reporter=actor.id).exists():
        return Result([], thread.key, comment.id, thread.last_position)  # one report per reader
    events: list = [CommentReported(comment_id=comment.id, reporter=actor.id, reason=cmd.reason, note=cmd.note)]
    item = QueueItem.objects.using(store.using).filter(pk=comment.id).values_list("reports", flat=True).first()
    if (comment.status == "published" and (item or 0) + 1 >= settings.THREADLOG["REPORTS_TO_HOLD"]
            and not _is_staff_id(comment.author_id)):  # staff comments are never held (#12): the reports stay
        events.append(CommentHeld(comment_id=comment.id, reason="reports"))
    recorded, _ = _commit(store, thread.key, events, expected=thread.stream_version, actor=actor,
                          idempotency_key=idempotency_key, threads=(thread,), comments=(comment,))
    return Result(recorded, thread.key, comment.id, recorded[-1].position)


@dataclass
class BanResult(Result):
    ban: dict | None = None


def ban_person(cmd: BanPerson, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    _staff(actor)
    if cmd.scope not in BAN_SCOPES:
        raise CommandError("invalid_scope", "scope must be person or ip", 422)
    if cmd.duration_seconds is not None and cmd.duration_seconds <= 0:
        raise CommandError("invalid_duration", "duration_seconds must be positive (or left out: until lifted)", 422)
    comment = comment_by_id(cmd.comment_id, using=store.using)
    if comment is None:
        raise not_found("comment", cmd.comment_id)
    if cmd.scope == "person":
        subject = comment.author_id
    else:
        posted = _posted_ip_hash(store, comment.id)
        if not posted:
            raise CommandError("no_ip", "the comment's IP is not known (or erased): ban the person instead", 409)
        subject = rules.ip_subject(posted)
    if _is_staff_id(subject):
        raise CommandError("cannot_ban_staff", "staff cannot be banned", 409)
    until = None
    if cmd.duration_seconds:
        until = (datetime.now(timezone.utc) + timedelta(seconds=cmd.duration_seconds)).isoformat().replace(
            "+00:00", "Z")
    ban_id = str(uuid.uuid4())
    banned = PersonBanned(ban_id=ban_id, scope=cmd.scope, subject=subject, moderator=actor.id, reason=cmd.reason,
                          until=until, comment_id=comment.id, hide_comments=cmd.hide_comments)
    recorded, _ = _commit(store, MODERATION_STREAM, [banned], expected=ANY, actor=actor,
                          idempotency_key=idempotency_key)
    if cmd.hide_comments and cmd.scope == "person":  # one CommentHidden per comment, per thread, same transaction
        recorded += _hide_all(store, actor, subject, cmd.reason or "banned")
    ban = {"id": ban_id, "scope": cmd.scope, "until": until, "reason": cmd.reason}
    return BanResult(recorded, MODERATION_STREAM, comment.id, recorded[-1].position, ban=ban)


def _hide_all(store: EventStore, actor: Actor, author_id: str, reason: str) -> list:
    rows = (CommentView.objects.using(store.using).filter(author_id=author_id, deleted=False)
            .filter(status__in=("published", "pending")).order_by("thread_key", "position")
            .values_list("thread_key", "id"))
    by_thread: dict[str, list[str]] = {}
    for key, cid in rows:
        by_thread.setdefault(key, []).append(cid)
    recorded: list = []
    for key, ids in sorted(by_thread.items()):
        thread = thread_by_key(key, using=store.using)
        events = [CommentHidden(comment_id=cid, moderator=actor.id, reason=reason) for cid in ids]
        done, _ = _commit(store, key, events, expected=thread.stream_version, actor=actor, idempotency_key=None,
                          threads=(thread,))
        recorded += done
    return recorded


def _posted_ip_hash(store: EventStore, comment_id: str) -> str | None:
    """The IP hash the comment was posted from (sealed in its event's metadata), None if unknown or erased."""
    from events.audit import comment_events
    from events.people import KeyRing, reveal

    posted = next((e for e in comment_events(store, comment_id) if e.type == "CommentPosted"), None)
    if posted is None:
        return None
    meta = reveal(posted.as_dict(), KeyRing(store.using)).get("metadata", {})
    value = meta.get("ip_hash")
    return value if isinstance(value, str) and value and value != "[erased]" else None


def _is_staff_id(person: str) -> bool:
    """A signed-in user's id (`user:<pk>`, threadlog.api.identity) whose user is staff."""
    from django.contrib.auth import get_user_model

    kind, _, pk = person.partition(":")
    return kind == "user" and pk.isdigit() and get_user_model().objects.filter(pk=int(pk), is_staff=True).exists()


def lift_ban(cmd: LiftBan, actor: Actor, store: EventStore, idempotency_key: str | None) -> Result:
    _staff(actor)
    ban = Ban.objects.using(store.using).filter(pk=cmd.ban_id).first()
    if ban is None:
        raise not_found("ban", cmd.ban_id)
    if ban.lifted:
        return Result([], MODERATION_STREAM, "", _head(store))
    recorded, _ = _commit(store, MODERATION_STREAM, [BanLifted(ban_id=ban.ban_id, moderator=actor.id,
                                                               reason=cmd.reason)],
                          expected=ANY, actor=actor, idempotency_key=idempotency_key)
    return Result(recorded, MODERATION_STREAM, "", recorded[-1].position)


def _head(store: EventStore) -> int:
    row = fetch_one(store.using, "SELECT MAX(position) FROM threadlog_events")
    return int(row[0] or 0) if row else 0


HANDLERS.update({
    ModerateComment: moderate_comment,
    ModerateThread: moderate_thread,
    ReportComment: report_comment,
    BanPerson: ban_person,
    LiftBan: lift_ban,
})
