"""PostgreSQL: release the append lock before the commit waits for the disk (early lock release).

Every append holds one lock over the whole log, and a PostgreSQL transaction keeps its locks until its commit
is flushed to disk: each writer waited for the previous one's fsync (0.3 to 5 ms on the machines measured,
more on network storage), so posting could never go faster than one fsync at a time, however many server
processes ran. Here a transaction started by `EventStore.write_transaction` commits with
`synchronous_commit = off` (set for that transaction only, with the lock, in one statement): the commit is
visible at once and the lock passes to the next writer. The writer then waits for the disk outside the lock,
with a WAL message committed synchronously (`wait_for_disk`): the write-ahead log is flushed in order, so once
that message is durable, so is the append, and the writer's caller (the HTTP answer) learns of the append only
then. Writers waiting for the disk at the same time share one flush.

What changes: nothing for the writer, and positions still commit in order and without gaps (a crash keeps a
prefix of the log: the WAL is replayed in order). A *reader* may see an append a few milliseconds before it
is durable; if the database crashes in that window the append is lost (its writer got an error, never a
success) and its position is handed out again. The embedded default has the same window and more (SQLite's
`synchronous=NORMAL` in WAL mode, settings.py, never waits for the disk at commit).

Emitting the message needs EXECUTE on `pg_logical_emit_message`, which every role has unless an
administrator revoked it; without it, appends commit synchronously under the lock, as before. With `wal_level = logical`, decoders see the messages (prefix
`threadlog.durable`, empty content).
"""
from __future__ import annotations

import threading

_available: dict[str, bool] = {}  # database alias -> whether this role may emit the message
_checked = threading.Lock()

LOCK_AND_COMMIT_EARLY = "SELECT pg_advisory_xact_lock(%s), set_config('synchronous_commit', 'off', true)"
WAIT_FOR_DISK = "SELECT pg_logical_emit_message(true, 'threadlog.durable', '')"


def available(connection) -> bool:
    """Whether appends on this connection's database may release the lock early (checked once per alias)."""
    alias = connection.alias
    if alias not in _available:
        with _checked, connection.cursor() as cur:
            cur.execute("SELECT has_function_privilege('pg_logical_emit_message(boolean, text, text)', 'EXECUTE')")
            _available[alias] = bool(cur.fetchone()[0])
    return _available[alias]


def wait_for_disk(connection) -> None:
    """After an early-released commit, outside any transaction: return once it is on disk."""
    with connection.cursor() as cur:
        cur.execute(WAIT_FOR_DISK)
