"""The event store: the only writer of the log.

Positions are handed out in commit order. Every append runs under one lock (PostgreSQL: a transaction-scoped
advisory lock; SQLite: the database write lock taken by BEGIN IMMEDIATE) and takes `max(position) + 1`, so a
later position can only exist once every earlier one has committed: a reader tailing by position never skips a
row that commits late. The same lock gives the hash chain exactly one order.
"""
from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import hashlib
import json
import os
import threading
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator, NamedTuple, Sequence

import orjson
from django.db import connections, transaction

from . import early_release, pg_append
from .sql import qmark, sqlite_file
from .types import _REGISTRY as _TYPES, Event, event_class, reads_as_is, upcast

# Thread keys are 1-200 of A-Z a-z 0-9 . _ ~ - (the public contract); system streams add ':' ("system:people"),
# so no reader can open a thread that is really a system stream. \Z: `$` would accept a trailing newline.
THREAD_KEY = re.compile(r"\A[A-Za-z0-9._~-]{1,200}\Z")
STREAM_KEY = re.compile(r"\A[A-Za-z0-9._~:-]{1,200}\Z")
GENESIS_HASH = "0" * 64
_ADVISORY_LOCK_ID = 0x7468726C  # "thrl"
_COLUMNS = "position, id, stream, stream_version, type, version, data, metadata, recorded_at, hash"
# Reads take the id as text: PostgreSQL's uuid would become a uuid.UUID per row only to be turned into a str.
SELECT_COLUMNS = _COLUMNS.replace(", id,", ", CAST(id AS TEXT),", 1)
# One statement reads all an append decides on: the stream's version, the head (position, hash) and, when a key
# is given, what that idempotency key recorded (a round trip saved per query on PostgreSQL).
_DECIDE_SQL = (
    "SELECT (SELECT COALESCE(MAX(stream_version), 0) FROM threadlog_events WHERE stream = %s), h.position, h.hash{idem}"
    " FROM (SELECT 1 AS one) AS o LEFT JOIN"
    " (SELECT position, hash FROM threadlog_events ORDER BY position DESC LIMIT 1) AS h ON 1 = 1"
)
_DECIDE = _DECIDE_SQL.format(idem="")
_DECIDE_IDEM = _DECIDE_SQL.format(
    idem=", (SELECT first_position FROM threadlog_idempotency WHERE key = %s),"
    " (SELECT last_position FROM threadlog_idempotency WHERE key = %s)"
)
_INSERT = f"INSERT INTO threadlog_events ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_VALUES_CHUNK = 500  # streams per statement in append_batch's decision query


_INSERT_SQLITE = qmark(_INSERT)
_INSERT_IDEM = "INSERT INTO threadlog_idempotency (key, stream, first_position, last_position) VALUES (%s, %s, %s, %s)"


class Expect(enum.Enum):
    ANY = "any"
    NO_STREAM = "no_stream"


ANY = Expect.ANY
NO_STREAM = Expect.NO_STREAM


class StreamAppend(NamedTuple):
    """One stream's part of EventStore.append_batch: its events, the version expected, per-event metadata."""

    stream: str
    events: Sequence[Event]
    expected_version: "int | Expect" = ANY
    event_metadata: Sequence[dict[str, Any]] | None = None


class StoreError(Exception):
    pass


class WrongExpectedVersion(StoreError):
    """The stream is not at the version the writer decided against; nothing was written."""

    def __init__(self, stream: str, expected: Any, actual: int):
        self.stream, self.expected, self.actual = stream, expected, actual
        shown = expected.value if isinstance(expected, Expect) else expected
        super().__init__(f"stream {stream!r} is at version {actual}, the append expected {shown}")


class InvalidStream(StoreError, ValueError):
    pass


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_ESCAPE = json.encoder.encode_basestring  # how that encoder writes a str (ensure_ascii=False)


def canonical_json(value: Any) -> str:
    # The same text as json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), without
    # building an encoder per call.
    return _CANONICAL.encode(value)


_SORT_KEYS = orjson.OPT_SORT_KEYS
_dumps = orjson.dumps
# Values orjson writes exactly as the json module does (ensure_ascii=False): strings (the same escapes; keys
# sorted by code point, which is UTF-8 byte order), 64-bit integers, booleans and null. Not floats (orjson
# writes 1e16 where json writes 1e+16), nor the types orjson serialises and json refuses (datetime, UUID, enum,
# dataclasses, str subclasses). What orjson refuses (a lone surrogate, a wider integer) goes to json.
_FLAT = frozenset((str, int, bool, type(None)))


def _data_json(data: Any) -> str:
    """canonical_json(data) for an event's data; through orjson (several times faster) for a flat dict of the
    values above, whose text it gives byte for byte (tests/events/test_pg_append.py)."""
    if data.__class__ is dict:
        flat = _FLAT
        for value in data.values():
            if value.__class__ not in flat:
                return _CANONICAL.encode(data)
        try:
            return _dumps(data, option=_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            pass
    return _CANONICAL.encode(data)


_PLAIN = (str, int, float, bool, type(None))
_PLAIN_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _event_data(ev: Event) -> dict[str, Any]:
    """`ev.to_data()`; for the common flat event (default to_data, plain field values) without asdict's deep copy."""
    cls = type(ev)
    names = _PLAIN_FIELDS.get(cls, ())
    if names == ():
        names = (tuple(f.name for f in dataclasses.fields(cls))
                 if cls.to_data is Event.to_data and dataclasses.is_dataclass(cls) else None)
        _PLAIN_FIELDS[cls] = names
    if names is None:
        return ev.to_data()
    data = {name: getattr(ev, name) for name in names}
    for value in data.values():
        if type(value) not in _PLAIN:
            return ev.to_data()
    return data


_VARIANT = "89ab"


def event_ids(count: int) -> list[str]:
    """`count` new event ids: UUIDv7 (RFC 9562), the millisecond in the top 48 bits and 74 random bits.

    Ids that follow time land at the right-hand edge of the log's unique id index, as positions do: a random
    (version 4) id put each event of a batch on a different page of that index, so a batch of 100 dirtied about
    100 index pages (SQLite copies each through the WAL, PostgreSQL writes a full image after every checkpoint),
    and the index no longer fit the cache as the log grew. Still unique and unguessable (74 random bits per
    id); the time they show is recorded_at's. Also about five times cheaper than `str(uuid.uuid4())` each."""
    stamp = f"{time.time_ns() // 1_000_000:012x}"
    head = f"{stamp[:8]}-{stamp[8:]}-7"
    rnd = os.urandom(10 * count).hex()
    variant = _VARIANT
    return [f"{head}{r[:3]}-{variant[int(r[3], 16) & 3]}{r[4:7]}-{r[7:19]}"
            for r in (rnd[i : i + 20] for i in range(0, 20 * count, 20))]


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(
    *, position: int, id: str, type: str, version: int, stream: str, stream_version: int,
    data: str, metadata: str, recorded_at: str, previous: str,
) -> str:
    """SHA-256 over a canonical encoding of the row and the previous row's hash (see docs/audit.md)."""
    if (position.__class__ is int and version.__class__ is int and stream_version.__class__ is int
            and {id.__class__, type.__class__, stream.__class__, data.__class__, metadata.__class__,
                 recorded_at.__class__, previous.__class__} == {str}):
        # The very bytes canonical_json gives for this list of ints and strings (UTF-8), in one call.
        try:
            encoded = _dumps([position, id, type, version, stream, stream_version, data, metadata,
                              recorded_at, previous])
        except orjson.JSONEncodeError:  # a lone surrogate, or a position beyond 64 bits
            encoded = canonical_json([position, id, type, version, stream, stream_version, data, metadata,
                                      recorded_at, previous]).encode("utf-8")
    else:
        encoded = canonical_json(
            [position, id, type, version, stream, stream_version, data, metadata, recorded_at, previous]
        ).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


class ProjectionEvent(NamedTuple):
    """The fields of a recorded event that projectors read (EventStore.iter_for_projection)."""

    position: int
    stream: str
    stream_version: int
    type: str
    version: int
    data: dict[str, Any]
    recorded_at: str
    occurred_at: str = ""  # the source's time (an import), else recorded_at (see `occurred_at`)


def occurred_at(metadata: dict[str, Any] | str, recorded_at: str) -> str:
    """When the event happened: an imported event's source time (metadata "occurred_at"), else when it was
    recorded. Kept in the metadata so the stored row (and its hash) has the same layout for every event."""
    if isinstance(metadata, str):
        if '"occurred_at"' not in metadata:  # the common case, without parsing the text
            return recorded_at
        metadata = _loads(metadata)
    return metadata.get("occurred_at") or recorded_at


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    id: str
    stream: str
    stream_version: int
    type: str
    version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: str
    hash: str = ""
    raw_data: str = field(default="", repr=False, compare=False)
    raw_metadata: str = field(default="", repr=False, compare=False)

    @property
    def event(self) -> Event:
        return event_class(self.type).from_data(self.data)

    @property
    def occurred_at(self) -> str:
        return occurred_at(self.metadata, self.recorded_at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position, "id": self.id, "type": self.type, "version": self.version,
            "stream": self.stream, "stream_version": self.stream_version, "data": self.data,
            "metadata": self.metadata, "recorded_at": self.recorded_at, "occurred_at": self.occurred_at,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Head:
    position: int
    hash: str


_META_CACHE: dict[str, dict[str, Any] | None] = {}


def _parse_metadata(text: str) -> dict[str, Any]:
    """json.loads(text); events of one append share their metadata text, so flat metadata is parsed once and
    copied (a fresh dict per event, as before)."""
    cached = _META_CACHE.get(text)
    if cached is not None:
        return dict(cached)
    parsed = _loads(text)
    if type(parsed) is dict and all(type(v) in _PLAIN for v in parsed.values()):
        if len(_META_CACHE) >= 4096:
            _META_CACHE.clear()
        _META_CACHE[text] = dict(parsed)
    return parsed




def _loads(text: str) -> Any:
    """json.loads, through orjson (several times faster on the read path); what orjson refuses (NaN) goes to
    json.loads itself. One difference: orjson reads an integer beyond 64 bits as a float; no event type here
    carries one (the hash chain is computed over the stored text, so it is unaffected either way)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_orjson_loads = orjson.loads
_make_tuple = tuple.__new__


def _decode(type_: str, version: int, data: str) -> tuple[int, Any]:
    """An event's stored data parsed, and upcast to its type's current version (with that version)."""
    parsed = _loads(data)
    if type_ in _TYPES and version < _TYPES[type_].version:
        return upcast(type_, version, parsed)
    return version, parsed


_new = object.__new__
_RECORDED_FIELDS = tuple(f.name for f in dataclasses.fields(RecordedEvent))


def _row_to_event(row: Sequence[Any]) -> RecordedEvent:
    position, id_, stream, stream_version, type_, version, data, metadata, recorded_at, hash_ = row
    cls = _TYPES.get(type_)
    if cls is not None and cls.version == version and version.__class__ is int:
        # The common case inline (every row of a read goes through here): a current event, parsed as it is.
        try:
            parsed = _orjson_loads(data)
        except orjson.JSONDecodeError:
            parsed = json.loads(data)
    else:
        version, parsed = _decode(type_, version, data)
        version = int(version)
    cached = _META_CACHE.get(metadata)
    meta = dict(cached) if cached is not None else _parse_metadata(metadata)
    if position.__class__ is not int or stream_version.__class__ is not int or id_.__class__ is not str:
        position, id_, stream_version = int(position), str(id_), int(stream_version)
    # A frozen dataclass's __init__ sets each of the twelve fields through object.__setattr__ (1.3 µs a row);
    # the same instance, made directly (reading the whole log makes one per event).
    event = _new(RecordedEvent)
    event.__dict__.update(zip(_RECORDED_FIELDS, (position, id_, stream, stream_version, type_, version, parsed, meta,
                                                 recorded_at, hash_, data, metadata)))
    return event


class _LockFiles(dict):
    """One thread's lock-file descriptors, closed when the thread ends (threading.local drops this then)."""

    def __del__(self) -> None:
        for fd in self.values():
            os.close(fd)


_lock_files = threading.local()


def _append_lock_held() -> set[str]:
    """The database aliases whose append lock this thread holds now (inside write_transaction)."""
    held = getattr(_lock_files, "held", None)
    if held is None:
        held = _lock_files.held = set()
    return held


def _lock_file(path: str) -> int:
    """This thread's open file description of the lock file `path` (opened on first use, kept open; opened
    anew if the file was deleted meanwhile, as when a database is recreated beside it)."""
    fds = getattr(_lock_files, "fds", None)
    if fds is None:
        fds = _lock_files.fds = _LockFiles()
    fd = fds.get(path)
    if fd is not None and os.fstat(fd).st_nlink == 0:
        os.close(fd)
        fd = None
    if fd is None:
        fd = fds[path] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    return fd


_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"


def _pending_locks() -> dict[str, "_LockFirst"]:
    """This thread's write transactions whose lock has not been sent yet, by database alias."""
    pending = getattr(_lock_files, "pending", None)
    if pending is None:
        pending = _lock_files.pending = {}
    return pending


def send_pending_lock(using: str) -> None:
    """Before going to the driver directly inside write_transaction: make sure the append lock is held (it
    is otherwise sent with the transaction's first statement through Django's cursor). A no-op elsewhere."""
    pending = _pending_locks().get(using)
    if pending is not None:
        pending.settle(connections[using])


class _LockFirst:
    """A Django execute wrapper (connection.execute_wrapper) that sends the append lock with the transaction's
    first statement, as one query of two statements (Django's psycopg cursor binds parameters on the client,
    so it may): `SELECT pg_advisory_xact_lock(…); <the statement>`. The caller then reads its own statement's
    rows (the cursor moves to the second result). Nothing runs in the transaction before the lock is held: a
    statement that cannot be joined (executemany, named parameters, server-side binding) is preceded by the
    lock on its own, and code that goes to the driver directly calls `settle` first (EventStore._lock)."""

    def __init__(self, lock_sql: str):
        self.lock_sql = lock_sql
        self.pending = True

    def settle(self, connection) -> None:
        if self.pending:
            self.pending = False
            with connection.cursor() as cur:
                cur.execute(self.lock_sql, [_ADVISORY_LOCK_ID])

    def __call__(self, execute, sql, params, many, context):
        if not self.pending:
            return execute(sql, params, many, context)
        self.pending = False
        import psycopg

        driver = context["cursor"].cursor
        if many or not isinstance(params, (list, tuple)) or not isinstance(driver, psycopg.ClientCursor):
            with context["connection"].wrap_database_errors:
                driver.execute(self.lock_sql, [_ADVISORY_LOCK_ID])
            return execute(sql, params, many, context)
        result = execute(f"{self.lock_sql}; {sql}", [_ADVISORY_LOCK_ID, *params], False, context)
        driver.nextset()
        return result


class EventStore:
    """Append and read the log through one Django database connection alias."""

    def __init__(self, using: str = "default"):
        self.using = using

    @property
    def connection(self):
        return connections[self.using]

    @property
    def is_postgres(self) -> bool:
        return self.connection.vendor == "postgresql"

    @contextlib.contextmanager
    def write_transaction(self) -> Iterator[None]:
        """A transaction holding the append lock: decide, append and project as one atomic step.

        On PostgreSQL the lock travels with the transaction's first statement (`_LockFirst`): one round trip
        fewer while every other writer waits. When it is the outermost transaction, the lock is released before
        the commit waits for the disk, and this returns once the commit is on disk (events/early_release.py)."""
        conn = self.connection
        early = self.is_postgres and not conn.in_atomic_block and early_release.available(conn)
        held = _append_lock_held()
        with self._sqlite_queue(), transaction.atomic(using=self.using):
            if not self.is_postgres or self.using in held:  # SQLite: BEGIN IMMEDIATE holds the write lock
                held.add(self.using)
                try:
                    yield
                finally:
                    held.discard(self.using)
            else:
                lock = _LockFirst(early_release.LOCK_AND_COMMIT_EARLY if early else _LOCK_SQL)
                _pending_locks()[self.using] = lock
                held.add(self.using)
                try:
                    with conn.execute_wrapper(lock):
                        yield
                finally:
                    held.discard(self.using)
                    _pending_locks().pop(self.using, None)
        if early:
            early_release.wait_for_disk(conn)

    @contextlib.contextmanager
    def _sqlite_queue(self) -> Iterator[None]:
        """On a SQLite file, wait for the append lock in the kernel (flock on a file beside the database).

        SQLite's own lock is the guard, but a writer that finds it taken polls, sleeping 1, 2, 5, 10… ms between
        tries: with several server processes most of a post's time went to those sleeps. Writers that queue
        on flock first are woken the moment the previous one commits. Each thread has its own file description
        (flock's locks belong to one), so threads of one process queue too; it stays open between transactions.
        Not used on PostgreSQL or in-memory databases, nor inside an outer transaction (which commits later,
        after this lock would be released)."""
        conn = self.connection
        name = sqlite_file(conn.settings_dict)
        if name is None or conn.in_atomic_block:
            yield
            return
        fd = _lock_file(name + ".append-lock")
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock(self) -> None:
        """Hold the append lock before going on (PostgreSQL; on SQLite BEGIN IMMEDIATE holds it already)."""
        if not self.is_postgres:
            return
        pending = _pending_locks().get(self.using)
        if pending is not None:  # inside write_transaction, before its first statement: send it now
            pending.settle(self.connection)
        elif self.using not in _append_lock_held():
            with self.connection.cursor() as cur:
                cur.execute(_LOCK_SQL, [_ADVISORY_LOCK_ID])

    # --- writing ---------------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        events: Sequence[Event],
        *,
        expected_version: int | Expect = ANY,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        event_metadata: Sequence[dict[str, Any]] | None = None,
    ) -> list[RecordedEvent]:
        """Append `events` to `stream` atomically and return them as recorded, with their positions.

        A retried `idempotency_key` returns the events the first call recorded and appends nothing.
        `event_metadata` (one dict per event, or None) adds to `metadata` what differs between the events of one
        append: an import's source id and source time ("occurred_at") of each comment.
        """
        if not STREAM_KEY.match(stream or ""):
            raise InvalidStream(f"invalid stream name {stream!r}")
        if not events:
            raise StoreError("append needs at least one event")
        for ev in events:
            if not isinstance(ev, Event) or not ev.type:
                raise StoreError(f"not a registered event: {ev!r}")
        meta = dict(metadata or {})
        if idempotency_key is not None:
            meta.setdefault("idempotency_key", idempotency_key)
        meta_json = canonical_json(meta)
        if event_metadata is not None:
            if len(event_metadata) != len(events):
                raise StoreError("event_metadata needs one entry per event")
            meta = [{**meta, **extra} if extra else meta for extra in event_metadata]
            meta_json = [canonical_json(m) for m in meta]

        conn = self.connection
        if conn.vendor == "postgresql":
            return self._append_postgres(conn, stream, events, expected_version, idempotency_key, meta, meta_json)
        # Inside a caller's transaction (a command handler's) no savepoint: an append that fails spoils the whole
        # transaction, which must roll back anyway (a decision taken on a state that did not hold).
        with transaction.atomic(using=self.using, savepoint=False):
            conn.ensure_connection()  # SQLite: the driver's own cursor, no per-statement placeholder rewriting
            with conn.wrap_database_errors:
                cur = conn.connection.cursor()
                try:
                    return self._write(cur, lambda rows: cur.executemany(_INSERT_SQLITE, rows), stream, events,
                                       expected_version, idempotency_key, meta, meta_json, q=qmark)
                finally:
                    cur.close()

    def _write(self, cur, insert, stream, events, expected_version, idempotency_key, meta, meta_json, q=str):
        """Under the lock: what the append decides on, then the rows (or the first result of a retried key).

        `cur` is the driver's cursor on SQLite: `q` gives a statement in its placeholder style."""
        if idempotency_key is not None:
            cur.execute(q(_DECIDE_IDEM), [stream, idempotency_key, idempotency_key])
        else:
            cur.execute(q(_DECIDE), [stream])
        found = cur.fetchone()
        if idempotency_key is not None and found[3] is not None:
            return self._read_range(cur, int(found[3]), int(found[4]), q)
        rows, recorded = self._record(stream, events, expected_version, found, meta, meta_json)
        insert(rows)
        if idempotency_key is not None:
            cur.execute(q(_INSERT_IDEM), [idempotency_key, stream, recorded[0].position, recorded[-1].position])
        return recorded

    def _append_postgres(self, conn, stream, events, expected_version, idempotency_key, meta, meta_json):
        """PostgreSQL: everything that needs the lock in one statement, `threadlog_append` (events/pg_append.py).

        Outside a transaction that statement is its own transaction (one round trip). When it had to wait for the
        lock (other writers queue) and the role may, it commits without waiting for the disk and the wait follows
        once the lock is free (events/early_release.py): writers share a flush instead of queueing behind each
        other's. Inside one (write_transaction, a command
        handler's) it joins it; the lock is taken again, which costs nothing."""
        count = len(events)
        shared = not isinstance(meta_json, list)
        data = [_event_data(ev) for ev in events]
        data_json = [_data_json(d) for d in data]
        ids = event_ids(count)
        types = [ev.type for ev in events]
        versions = [ev.version for ev in events]
        metas_json = [meta_json] * count if shared else meta_json
        expected = (None if expected_version is ANY else 0 if expected_version is NO_STREAM
                    else int(expected_version))
        early = not conn.in_atomic_block and conn.get_autocommit() and early_release.available(conn)
        params = [_ADVISORY_LOCK_ID, stream, expected, ids, types, versions, data_json, metas_json,
                  idempotency_key, early]
        if self.using in _pending_locks():  # the transaction's first statement: through Django's cursor, which
            with conn.cursor() as cur:      # sends the lock with it (_LockFirst)
                cur.execute(pg_append.CALL, params)
                status, first, version, recorded_at, hashes, _ = cur.fetchone()
        else:
            # Server-side binding, prepared once per connection, arrays in binary: Django's cursor binds on the
            # client, which quotes every array element in Python (more than half the client's CPU per append).
            import psycopg

            conn.ensure_connection()
            with conn.wrap_database_errors, psycopg.Cursor(conn.connection) as cur:
                cur.execute(pg_append.CALL_BINARY, params, prepare=True)
                status, first, version, recorded_at, hashes, committed_early = cur.fetchone()
                if committed_early:
                    cur.execute(early_release.WAIT_FOR_DISK, prepare=True)
        if status == pg_append.WRONG_VERSION:
            raise WrongExpectedVersion(stream, expected_version, int(version))
        if status == pg_append.REPLAYED:
            with conn.cursor() as cur:
                return self._read_range(cur, int(first), int(version))
        first, version = int(first), int(version)
        return [RecordedEvent(first + i, ids[i], stream, version + 1 + i, types[i], versions[i], data[i],
                              meta if shared else meta[i], recorded_at, hashes[i], data_json[i], metas_json[i])
                for i in range(count)]

    @staticmethod
    def _record(stream, events, expected_version, found, meta, meta_json):
        """Check the expected version against `found` (stream version, head position, head hash); build the rows."""
        metas, metas_json = meta, meta_json
        current = int(found[0])
        if expected_version is NO_STREAM:
            ok = current == 0
        elif expected_version is ANY:
            ok = True
        else:
            ok = current == int(expected_version)
        if not ok:
            raise WrongExpectedVersion(stream, expected_version, current)
        position, previous = (int(found[1]), found[2]) if found[1] is not None else (0, GENESIS_HASH)
        recorded_at = now_iso()
        rows, recorded = [], []
        shared = not isinstance(meta_json, list)  # one metadata for every event, or one each (event_metadata)
        ids = event_ids(len(events))
        for offset, ev in enumerate(events, start=1):
            if not shared:
                meta, meta_json = metas[offset - 1], metas_json[offset - 1]
            position += 1
            event_id = ids[offset - 1]
            data = _event_data(ev)
            data_json = _data_json(data)
            digest = chain_hash(
                position=position, id=event_id, type=ev.type, version=ev.version, stream=stream,
                stream_version=current + offset, data=data_json, metadata=meta_json,
                recorded_at=recorded_at, previous=previous,
            )
            previous = digest
            rows.append((position, event_id, stream, current + offset, ev.type, ev.version,
                         data_json, meta_json, recorded_at, digest))
            recorded.append(RecordedEvent(position, event_id, stream, current + offset, ev.type,
                                          ev.version, data, meta, recorded_at, digest, data_json, meta_json))
        return rows, recorded

    def append_batch(self, appends: Sequence["StreamAppend"], *,
                     metadata: dict[str, Any] | None = None) -> list[list[RecordedEvent]]:
        """Several streams' appends as one: what `append` does for each, in the order given, with one decision
        query and all the rows in one insert (SQLite: executemany; PostgreSQL: COPY). Returns each append's
        recorded events. All or nothing: a wrong expected version (or an invalid append) anywhere raises before
        a row is written. Positions follow each other without gaps across the whole batch. No idempotency keys
        (an import recognises its own events by their ids, threadlog.imports)."""
        meta = dict(metadata or {})
        shared_json = canonical_json(meta)
        prepared = []
        for a in appends:
            if not STREAM_KEY.match(a.stream or ""):
                raise InvalidStream(f"invalid stream name {a.stream!r}")
            if not a.events:
                raise StoreError("append needs at least one event")
            for ev in a.events:
                if not isinstance(ev, Event) or not ev.type:
                    raise StoreError(f"not a registered event: {ev!r}")
            if a.event_metadata is None:
                prepared.append((a, meta, shared_json))
                continue
            if len(a.event_metadata) != len(a.events):
                raise StoreError("event_metadata needs one entry per event")
            metas = [{**meta, **extra} if extra else meta for extra in a.event_metadata]
            prepared.append((a, metas, [canonical_json(m) for m in metas]))
        if not prepared:
            return []
        conn = self.connection
        with transaction.atomic(using=self.using, savepoint=False):
            self._lock()
            conn.ensure_connection()
            with conn.wrap_database_errors:
                cur = conn.connection.cursor()  # the driver's: no per-statement rewriting of a large batch
                try:
                    q = qmark if conn.vendor == "sqlite" else str
                    streams = list(dict.fromkeys(a.stream for a, _, _ in prepared))
                    versions: dict[str, int] = {}
                    for i in range(0, len(streams), _VALUES_CHUNK):
                        chunk = streams[i : i + _VALUES_CHUNK]
                        cur.execute(q("SELECT stream, MAX(stream_version) FROM threadlog_events WHERE stream IN ("
                                      + ", ".join(["%s"] * len(chunk)) + ") GROUP BY stream"), chunk)
                        versions.update((s, int(v)) for s, v in cur.fetchall())
                    cur.execute("SELECT position, hash FROM threadlog_events ORDER BY position DESC LIMIT 1")
                    head = cur.fetchone()
                    position, previous = (int(head[0]), head[1]) if head else (0, GENESIS_HASH)
                    rows: list[tuple] = []
                    results: list[list[RecordedEvent]] = []
                    for a, m, m_json in prepared:
                        found = (versions.get(a.stream, 0), position, previous)
                        more, recorded = self._record(a.stream, a.events, a.expected_version, found, m, m_json)
                        rows += more
                        results.append(recorded)
                        position, previous = recorded[-1].position, recorded[-1].hash
                        versions[a.stream] = recorded[-1].stream_version
                    if conn.vendor == "sqlite":
                        cur.executemany(_INSERT_SQLITE, rows)
                    else:
                        with cur.copy(f"COPY threadlog_events ({_COLUMNS}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
                finally:
                    cur.close()
        return results

    # --- reading ---------------------------------------------------------------------------------

    def recorded_for(self, idempotency_key: str) -> list[RecordedEvent] | None:
        """The events an earlier append with this idempotency key recorded, or None."""
        with self.connection.cursor() as cur:
            cur.execute(
                "SELECT first_position, last_position FROM threadlog_idempotency WHERE key = %s", [idempotency_key]
            )
            found = cur.fetchone()
            return self._read_range(cur, int(found[0]), int(found[1])) if found else None

    def _read_range(self, cur, first: int, last: int, q=str) -> list[RecordedEvent]:
        cur.execute(
            q(f"SELECT {SELECT_COLUMNS} FROM threadlog_events WHERE position >= %s AND position <= %s ORDER BY position"),
            [first, last],
        )
        return [_row_to_event(r) for r in cur.fetchall()]

    def read_all(self, after: int = 0, limit: int = 1000, *, until: int | None = None) -> list[RecordedEvent]:
        """Events with position > after (and <= until), in position order, at most `limit`."""
        sql = f"SELECT {SELECT_COLUMNS} FROM threadlog_events WHERE position > %s"
        params: list[Any] = [after]
        if until is not None:
            sql += " AND position <= %s"
            params.append(until)
        sql += " ORDER BY position LIMIT %s"
        params.append(limit)
        with self.connection.cursor() as cur:
            cur.execute(sql, params)
            return [_row_to_event(r) for r in cur.fetchall()]

    def iter_all(self, after: int = 0, *, until: int | None = None, batch: int = 5000) -> Iterator[RecordedEvent]:
        while True:
            page = self.read_all(after, batch, until=until)
            yield from page
            if len(page) < batch:
                return
            after = page[-1].position

    def iter_for_projection(self, after: int = 0, *, until: int | None = None, batch: int = 10_000,
                            streams: Sequence[str] | None = None) -> Iterator["ProjectionEvent"]:
        """Events in position order, as a projection needs them: without id, metadata and hash.

        A rebuild reads the whole log; leaving out the columns no projector looks at, and building a plain tuple
        instead of a frozen dataclass, halves the read. `streams`: only these streams' events (a rebuild that
        folds a few threads at a time)."""
        only = f" AND stream IN ({', '.join(['%s'] * len(streams))})" if streams is not None else ""
        sql = ("SELECT position, stream, stream_version, type, version, data, recorded_at, metadata FROM threadlog_events"
               " WHERE position > %s" + (" AND position <= %s" if until is not None else "") + only
               + " ORDER BY position LIMIT %s")
        while True:
            with self.connection.cursor() as cur:
                cur.execute(sql, [after] + ([until] if until is not None else []) + list(streams or ()) + [batch])
                rows = cur.fetchall()
            as_is = reads_as_is()  # (type, version) -> current version: read as stored (no upcaster changes it)
            for position, stream, stream_version, type_, version, data, recorded_at, metadata in rows:
                when = recorded_at if '"occurred_at"' not in metadata else occurred_at(metadata, recorded_at)
                current = as_is.get((type_, version))
                if current is not None:  # the common case, inline: a rebuild reads every event
                    try:
                        parsed = _orjson_loads(data)
                    except orjson.JSONDecodeError:
                        parsed = json.loads(data)
                    # the tuple made directly: a NamedTuple's own __new__ is Python code (0.4 µs against 0.2)
                    yield _make_tuple(ProjectionEvent, (position, stream, stream_version, type_, current, parsed,
                                                        recorded_at, when))
                else:
                    yield ProjectionEvent(position, stream, stream_version, type_, *_decode(type_, version, data),
                                          recorded_at, when)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def read_stream(
        self, stream: str, after_version: int = 0, *, until_position: int | None = None,
        after_position: int | None = None, limit: int | None = None,
    ) -> list[RecordedEvent]:
        """One stream's events with stream_version > after_version, in order."""
        sql = f"SELECT {SELECT_COLUMNS} FROM threadlog_events WHERE stream = %s AND stream_version > %s"
        params: list[Any] = [stream, after_version]
        if until_position is not None:
            sql += " AND position <= %s"
            params.append(until_position)
        if after_position is not None:
            sql += " AND position > %s"
            params.append(after_position)
        sql += " ORDER BY stream_version"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        with self.connection.cursor() as cur:
            cur.execute(sql, params)
            return [_row_to_event(r) for r in cur.fetchall()]

    def count_stream_after(self, stream: str, after_position: int) -> int:
        with self.connection.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM threadlog_events WHERE stream = %s AND position > %s", [stream, after_position]
            )
            return int(cur.fetchone()[0])

    def stream_version(self, stream: str) -> int:
        with self.connection.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(stream_version), 0) FROM threadlog_events WHERE stream = %s", [stream])
            return int(cur.fetchone()[0])

    def head(self) -> int:
        """The position of the newest committed event (0 for an empty log)."""
        return self.head_record().position

    def head_record(self) -> Head:
        with self.connection.cursor() as cur:
            cur.execute("SELECT position, hash FROM threadlog_events ORDER BY position DESC LIMIT 1")
            row = cur.fetchone()
        return Head(int(row[0]), row[1]) if row else Head(0, GENESIS_HASH)


def get_store(using: str = "default") -> EventStore:
    return EventStore(using)


def append(stream: str, events: Sequence[Event], **kwargs: Any) -> list[RecordedEvent]:
    return get_store().append(stream, events, **kwargs)


def read_all(after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
    return get_store().read_all(after, limit)


def read_stream(stream: str, after_version: int = 0) -> list[RecordedEvent]:
    return get_store().read_stream(stream, after_version)


def head() -> int:
    return get_store().head()
