"""The hash chain's status, kept up incrementally: every audit page shows it, so it must not walk the whole log.

A checkpoint row (ChainCheckpoint) remembers the last position verified and its hash. A check re-reads that
one row from the log (if its hash changed, the checkpoint itself was tampered with or the log was rewritten
under it), then verifies only the events after it, starting from the remembered hash, and moves the
checkpoint forward. Cost: one row per new event. What it does not do is re-check rows it has already
verified: `threadlog audit verify` walks everything from position 0 for that (and refreshes the checkpoint).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import DatabaseError, transaction

from .audit import ChainReport, iter_raw, verify_rows
from .models import ChainCheckpoint
from .store import GENESIS_HASH, EventStore, now_iso

NAME = "chain"


@dataclass(frozen=True)
class ChainStatus:
    """What an audit page says about the chain."""

    ok: bool
    position: int  # verified through this position
    hash: str  # that position's hash (the head's, when ok and caught up)
    checked_at: str  # when the verification last reached `position` (ISO-8601 UTC)
    new_events: int  # how many events this check verified
    bad_position: int | None = None
    reason: str = ""


def _row_hash(store: EventStore, position: int) -> str | None:
    with store.connection.cursor() as cur:
        cur.execute("SELECT hash FROM threadlog_events WHERE position = %s", [position])
        row = cur.fetchone()
    return row[0] if row else None


def _save(store: EventStore, status: ChainStatus, known: ChainCheckpoint | None) -> None:
    """Keep the new checkpoint; a check that cannot write now (SQLite busy) just answers without keeping it."""
    values = {"position": status.position, "hash": status.hash, "checked_at": status.checked_at,
              "bad_position": status.bad_position, "reason": status.reason[:200]}
    try:
        with transaction.atomic(using=store.using):
            rows = ChainCheckpoint.objects.using(store.using).filter(name=NAME)
            if known is None:
                ChainCheckpoint.objects.using(store.using).get_or_create(name=NAME, defaults=values)
            else:  # only forward, or from good to broken: a slower concurrent check never moves it back
                rows.filter(position__lte=status.position).update(**values)
    except DatabaseError:
        pass


def check(store: EventStore) -> ChainStatus:
    """Verify the events added since the last check and answer the chain's status."""
    using = store.using
    known = ChainCheckpoint.objects.using(using).filter(name=NAME).first()
    after, previous = (known.position, known.hash) if known else (0, GENESIS_HASH)
    # A broken chain keeps its last good position: each check verifies again from there, and so keeps
    # reporting the break until the log is repaired (or restored from an export).
    if after and _row_hash(store, after) != previous:
        report = ChainReport(False, 0, after, previous, after,
                             "the last verified row no longer has the hash it was verified with")
    else:
        # From the row before the checkpoint: the last verified row is recomputed too, so an edit to the newest
        # rows (the likeliest to be "fixed" after the fact) shows at once.
        start = max(after - 1, 0)
        report = verify_rows(iter_raw(store, start), previous=_row_hash(store, start) if start else GENESIS_HASH,
                             after=start)
        if report.ok or (report.bad_position or 0) > after:
            report = ChainReport(report.ok, max(report.checked - (after - start), 0), report.head_position,
                                 report.head_hash, report.bad_position, report.reason)
        else:
            report = ChainReport(False, 0, after, previous, report.bad_position, report.reason)
    return _record(store, report, known, after, previous)


def _record(store: EventStore, report: ChainReport, known: ChainCheckpoint | None, after: int,
            previous: str) -> ChainStatus:
    if report.ok:
        status = ChainStatus(True, report.head_position, report.head_hash,
                             now_iso() if report.checked or known is None else known.checked_at, report.checked)
        if report.checked or known is None or known.bad_position is not None:
            _save(store, status, known)
        return status
    good = after + report.checked  # the rows before the bad one verified
    good_hash = previous if not report.checked else _row_hash(store, good) or previous
    status = ChainStatus(False, good, good_hash, now_iso(), report.checked, report.bad_position, report.reason)
    _save(store, status, known)
    return status


def record_full(store: EventStore, report: ChainReport) -> None:
    """A full walk's result (`threadlog audit verify`) replaces the checkpoint."""
    if report.ok:
        status = ChainStatus(True, report.head_position, report.head_hash, now_iso(), report.checked)
    else:
        good = report.checked
        status = ChainStatus(False, good, _row_hash(store, good) or GENESIS_HASH if good else GENESIS_HASH,
                             now_iso(), report.checked, report.bad_position, report.reason)
    try:
        with transaction.atomic(using=store.using):
            ChainCheckpoint.objects.using(store.using).update_or_create(
                name=NAME, defaults={"position": status.position, "hash": status.hash,
                                     "checked_at": status.checked_at, "bad_position": status.bad_position,
                                     "reason": status.reason[:200]})
    except DatabaseError:
        pass


@dataclass(frozen=True)
class AnchorResult:
    ok: bool
    message: str


def compare_anchor(store: EventStore, position: int, hash_: str, status: ChainStatus) -> AnchorResult:
    """Does the log still hold `hash_` at `position` (a head anchored elsewhere earlier)?"""
    hash_ = hash_.strip().lower()
    found = _row_hash(store, position)
    if found is None:
        return AnchorResult(False, f"The log has no position {position} (head {store.head()}): "
                                   "events the anchor covered are missing.")
    if found != hash_:
        return AnchorResult(False, f"Position {position} has hash {found}, not the anchored {hash_}: "
                                   "the log up to that position is not the one that was anchored.")
    if status.ok and position <= status.position:
        return AnchorResult(True, f"Position {position} still has the anchored hash, and the chain verifies from "
                                  f"there through position {status.position}: nothing up to the anchor was "
                                  "altered, removed or reordered.")
    return AnchorResult(True, f"Position {position} still has the anchored hash (the chain after it does not "
                              "verify yet; see the status above).")
