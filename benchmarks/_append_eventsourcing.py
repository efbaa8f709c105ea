"""The eventsourcing library's side of benchmarks/append.py; runs in benchmarks/.venv-eventsourcing.

Usage: python _append_eventsourcing.py sqlite|postgres PATH|DBNAME N WORKLOAD [TAG]
Prints one JSON object with the figure of that workload (see _workload.WORKLOADS), as threadlog's side does.
"""
from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _workload  # noqa: E402

from eventsourcing.persistence import StoredEvent  # noqa: E402

_NS = uuid.UUID("6a1b1d3e-6c55-4d0b-9b1e-000000000000")


def datastore(kind: str, name: str):
    if kind == "sqlite":
        from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

        return SQLiteApplicationRecorder(SQLiteDatastore(name, lock_timeout=30))
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    ds = PostgresDatastore(dbname=name, host="127.0.0.1", port=5432, user="postgres", password="", pool_size=1)
    return PostgresApplicationRecorder(ds)


def main() -> None:
    kind, name, n, workload = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    tag = sys.argv[5] if len(sys.argv) > 5 else ""
    datastore(kind, name).create_table()
    topic = "threadlog.events:CommentPosted"

    def make_appender():
        recorder = datastore(kind, name)

        def append(stream: str, first_version: int, payloads: list) -> None:
            oid = uuid.uuid5(_NS, stream)
            recorder.insert_events([
                StoredEvent(oid, first_version + i, topic,
                            json.dumps(p, sort_keys=True, separators=(",", ":")).encode())
                for i, p in enumerate(payloads)
            ])

        return append

    def read_all(decode: bool = True) -> int:
        # Decoded like threadlog's read_all, which returns each event's data parsed: json.loads of the state.
        recorder = datastore(kind, name)
        count, start = 0, 0
        while True:
            page = recorder.select_notifications(start, 1000, inclusive_of_start=False)
            if decode:
                for note in page:
                    json.loads(note.state)
            count += len(page)
            if len(page) < 1000:
                return count
            start = page[-1].id

    result = _workload.run_one(workload, make_appender, read_all, n=n, tag=tag)
    if workload == "read_all":
        t0 = time.monotonic()
        result["read_all_undecoded"] = round(read_all(decode=False) / (time.monotonic() - t0), 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
