"""The moderation queue's read model: what waits for a moderator, who reported what, and the bans.

A projector of its own, fed the same events in the same transaction as the thread projector (projections.base,
projections.rebuild) and kept only for the events that concern it (`QUEUE_TYPES`), so ordinary posts and votes
cost it nothing. A comment gets a queue item the first time it is held, reported or decided; the item mirrors
the comment's status (from the thread read model) and keeps the reports since the last decision. The tabs of
`GET /api/moderation/queue` are queries over these rows (projections.queue_queries).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Iterable

from events.store import RecordedEvent

from .queue_models import Ban, QueueItem, Report
from .state import State, insert_rows

QUEUE_TYPES = frozenset({"CommentHeld", "CommentApproved", "CommentRejected", "CommentHidden", "CommentRestored",
                         "CommentMarkedSpam", "CommentReported", "CommentDeleted", "PersonBanned", "BanLifted"})
DECISIONS = {"CommentApproved", "CommentRejected", "CommentHidden", "CommentRestored", "CommentMarkedSpam"}


@dataclass
class ItemRow:
    comment_id: str
    thread_key: str
    author_id: str
    status: str
    held_reason: str = ""
    reports: int = 0
    report_reasons: str = "{}"
    moderator: str = ""
    decision: str = ""
    reason: str = ""
    updated: int = 0


@dataclass
class BanRow:
    ban_id: str
    scope: str
    subject: str
    until: str = ""
    reason: str = ""
    moderator: str = ""
    comment_id: str = ""
    lifted: bool = False
    position: int = 0


ITEM_FIELDS = [f.name for f in fields(ItemRow)]
BAN_FIELDS = [f.name for f in fields(BanRow)]
REPORT_FIELDS = ["comment_id", "reporter", "reason", "position"]


@dataclass
class QueueState:
    """In memory (a rebuild) or loading rows on first use from the database (`using`), written back by `flush`."""

    using: str | None = None
    items: dict[str, ItemRow] = field(default_factory=dict)
    reports: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)  # (comment, reporter) -> reason
    bans: dict[str, BanRow] = field(default_factory=dict)
    _new: set = field(default_factory=set)
    _dirty: set = field(default_factory=set)
    _missing: set = field(default_factory=set)

    def item(self, comment_id: str) -> ItemRow | None:
        if comment_id not in self.items and self.using and comment_id not in self._missing:
            row = QueueItem.objects.using(self.using).filter(pk=comment_id).values_list(*ITEM_FIELDS).first()
            if row is None:
                self._missing.add(comment_id)
            else:
                self.items[comment_id] = ItemRow(*row)
        return self.items.get(comment_id)

    def prefetch(self, comment_ids: Iterable[str]) -> None:
        """Load the items of many comments at once (a batch of events: an import), a query per 500."""
        if not self.using:
            return
        wanted = [c for c in dict.fromkeys(comment_ids) if c not in self.items and c not in self._missing]
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            found = {row[0]: row for row in
                     QueueItem.objects.using(self.using).filter(pk__in=chunk).values_list(*ITEM_FIELDS)}
            for comment_id in chunk:
                if comment_id in found:
                    self.items[comment_id] = ItemRow(*found[comment_id])
                else:
                    self._missing.add(comment_id)

    def put_item(self, row: ItemRow) -> None:
        if row.comment_id not in self.items and self.using:
            self._new.add(("item", row.comment_id))
        self.items[row.comment_id] = row
        self._dirty.add(("item", row.comment_id))

    def ban(self, ban_id: str) -> BanRow | None:
        if ban_id not in self.bans and self.using:
            row = Ban.objects.using(self.using).filter(pk=ban_id).values_list(*BAN_FIELDS).first()
            if row is not None:
                self.bans[ban_id] = BanRow(*row)
        return self.bans.get(ban_id)

    def put_ban(self, row: BanRow, new: bool = False) -> None:
        if new and self.using:
            self._new.add(("ban", row.ban_id))
        self.bans[row.ban_id] = row
        self._dirty.add(("ban", row.ban_id))

    def add_report(self, comment_id: str, reporter: str, reason: str, position: int) -> bool:
        k = (comment_id, reporter)
        if k in self.reports or (self.using and Report.objects.using(self.using).filter(
                comment_id=comment_id, reporter=reporter).exists()):
            return False
        self.reports[k] = (reason, position)
        self._dirty.add(("report", k))
        return True

    def flush(self) -> None:
        """Write what changed (the live path, inside the append transaction)."""
        if not self.using or not self._dirty:
            return
        db = self.using
        tables = {"item": (QueueItem, self.items, ITEM_FIELDS), "ban": (Ban, self.bans, BAN_FIELDS)}
        new_items = []
        for kind, k in self._dirty:
            if kind in tables:
                model, rows, names = tables[kind]
                if kind == "item" and (kind, k) in self._new:  # new items: one insert for them all
                    new_items.append([getattr(rows[k], n) for n in names])
                    continue
                values = {n: getattr(rows[k], n) for n in names}
                if (kind, k) in self._new:
                    model.objects.using(db).create(**values)
                else:
                    model.objects.using(db).filter(pk=k).update(**values)
            else:
                reason, position = self.reports[k]
                Report.objects.using(db).create(comment_id=k[0], reporter=k[1], reason=reason, position=position)
        if new_items:
            insert_rows(QueueItem, ITEM_FIELDS, new_items, db)
        self._dirty.clear()
        self._new.clear()


def of(state) -> QueueState:
    """The queue state that travels with a MemoryState (a rebuild, time travel)."""
    if state.queue is None:
        state.queue = QueueState()
    return state.queue


def apply(queue: QueueState, state: State, ev: RecordedEvent) -> None:
    """Apply one event (of QUEUE_TYPES) after the thread projector has applied it to `state`."""
    data = ev.data
    if ev.type == "PersonBanned":
        queue.put_ban(BanRow(ban_id=data["ban_id"], scope=data["scope"], subject=data["subject"],
                             until=data.get("until") or "", reason=data.get("reason", ""),
                             moderator=data.get("moderator", ""), comment_id=data.get("comment_id") or "",
                             position=ev.position), new=True)
        return
    if ev.type == "BanLifted":
        ban = queue.ban(data["ban_id"])
        if ban is not None and not ban.lifted:
            ban.lifted = True
            queue.put_ban(ban)
        return
    comment = state.comment(data.get("comment_id") or "")
    if comment is None or comment.thread_key != ev.stream:
        return
    item = queue.item(comment.id)
    if item is None:
        if ev.type == "CommentDeleted":
            return  # nobody flagged it: not the queue's business
        item = ItemRow(comment_id=comment.id, thread_key=comment.thread_key, author_id=comment.author_id,
                       status=comment.status)
    item.status = "deleted" if comment.deleted else comment.status
    item.updated = ev.position
    if ev.type == "CommentHeld":
        item.held_reason = data.get("reason", "")
    elif ev.type == "CommentReported":
        if not queue.add_report(comment.id, data["reporter"], data.get("reason", "other"), ev.position):
            return
        item.reports += 1
        reasons = json.loads(item.report_reasons)
        reasons[data.get("reason", "other")] = reasons.get(data.get("reason", "other"), 0) + 1
        item.report_reasons = json.dumps(reasons, sort_keys=True)
    elif ev.type in DECISIONS:
        item.moderator, item.decision, item.reason = data.get("moderator", ""), ev.type, data.get("reason", "")
        item.reports, item.report_reasons, item.held_reason = 0, "{}", ""
    queue.put_item(item)


def bulk_write(queue: QueueState | None, using: str, tables: dict | None = None) -> None:
    """Write a rebuilt queue into its empty tables (`tables`: model -> the table to write instead, projections.online)."""
    if queue is None:
        return
    tables = tables or {}
    insert_rows(QueueItem, ITEM_FIELDS, ([getattr(r, n) for n in ITEM_FIELDS] for r in queue.items.values()), using,
                table=tables.get(QueueItem))
    insert_rows(Ban, BAN_FIELDS, ([getattr(r, n) for n in BAN_FIELDS] for r in queue.bans.values()), using,
                table=tables.get(Ban))
    insert_rows(Report, REPORT_FIELDS, ((c, r, reason, pos) for (c, r), (reason, pos) in queue.reports.items()), using,
                table=tables.get(Report))


def table_rows(using: str) -> dict[str, dict]:
    """The live tables as comparable values (projections verify)."""
    return {
        "queue": {r[0]: r for r in QueueItem.objects.using(using).values_list(*ITEM_FIELDS)},
        "ban": {r[0]: r for r in Ban.objects.using(using).values_list(*BAN_FIELDS)},
        "report": {(r[0], r[1]): r for r in Report.objects.using(using).values_list(*REPORT_FIELDS)},
    }


def state_rows(queue: QueueState | None) -> dict[str, dict]:
    queue = queue or QueueState()
    return {
        "queue": {k: tuple(getattr(r, n) for n in ITEM_FIELDS) for k, r in queue.items.items()},
        "ban": {k: tuple(getattr(r, n) for n in BAN_FIELDS) for k, r in queue.bans.items()},
        "report": {k: (k[0], k[1], reason, pos) for k, (reason, pos) in queue.reports.items()},
    }


MODELS: Iterable = (QueueItem, Report, Ban)
