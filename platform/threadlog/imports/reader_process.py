"""Read (parse and convert) an export in a second process while this one plans, appends and projects.

Reading is a quarter of an import's work and depends on nothing in the database, like a rebuild's rendering
(projections.offload). `python -m threadlog.imports.reader_process PATH FORMAT SITE_URL HELD` (HELD: 1 when
unapproved comments are imported as pending, plan.held_possible) reads the file and writes pickled batches of
SourceThreads to its stdout, then what it counted; the pipe's buffer (PIPE_BYTES) keeps it at most a few
batches ahead, so memory stays bounded. Only the command line uses it (a file on disk, a fresh process);
the admin upload reads in its own process.
"""
from __future__ import annotations

import fcntl
import io
import os
import pickle
import subprocess
import sys
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import Callable, Iterator

from .model import ImportFileError, SourceComment, SourceThread, Tally

BATCH = 50  # threads per message (about 1,000 comments, 200 KB pickled)
_COMMENT = attrgetter(*(f.name for f in fields(SourceComment)))
_THREAD_FIELDS = tuple(f.name for f in fields(SourceThread) if f.name != "comments")
_THREAD = attrgetter(*_THREAD_FIELDS)


def _pack(threads: list[SourceThread]) -> list[tuple]:
    """Threads as plain tuples: a slotted dataclass pickles through a Python function per object, and a tuple
    costs half as much to write and to read (100,000 comments: about half a second saved in all)."""
    return [(_THREAD(t), [_COMMENT(c) for c in t.comments]) for t in threads]


def _unpack(packed: list[tuple]) -> list[SourceThread]:
    return [SourceThread(**dict(zip(_THREAD_FIELDS, head)), comments=[SourceComment(*c) for c in comments])
            for head, comments in packed]


PIPE_BYTES = 1 << 20  # the pipe's buffer: the reader may run a few messages ahead (Linux allows 1 MiB unprivileged)


def threads_from_child(path: str, fmt: str, site_url: str, tally: Tally,
                       progress: Callable[[int], None] | None, *, held_possible: bool) -> Iterator[SourceThread]:
    """The threads of `path` as the reader process sends them; its counts are added to `tally` at the end.
    Raises ImportFileError with the reader's own message when the file cannot be read."""
    platform_dir = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [platform_dir, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "threadlog.imports.reader_process", str(path), fmt, site_url,
                             "1" if held_possible else "0"],
                            stdout=subprocess.PIPE, env=env)
    try:
        # With the default 64 KiB the reader blocked on every message until this process read it, then had to
        # be scheduled again: on a busy machine the importing process spent seconds waiting for it.
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:  # a lower fs.pipe-max-size: the default buffer works, only slower
        pass
    try:
        while True:
            try:
                kind, payload, read = pickle.load(proc.stdout)
            except EOFError:
                raise ImportFileError("the import's reader process ended unexpectedly (see above); nothing was"
                                      " imported") from None
            if progress is not None:
                progress(read)
            if kind == "threads":
                yield from _unpack(payload)
            elif kind == "error":
                raise ImportFileError(payload)
            else:  # "done": what the reader counted
                tally.skipped.update(payload["skipped"])
                tally.notes.update(payload["notes"])
                return
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def _main(path: str, fmt: str, site_url: str, held: str) -> None:
    from .reading import Counting, prepared, read_threads

    out = sys.stdout.buffer
    tally = Tally(format=fmt)
    with open(path, "rb") as raw:
        counting = Counting(raw, None)
        reader = io.BufferedReader(counting, 1 << 16)
        batch: list[SourceThread] = []
        try:
            for thread in prepared(read_threads(reader, fmt, tally, site_url), fmt, site_url, tally=tally,
                                   held_possible=held == "1"):
                batch.append(thread)
                if len(batch) >= BATCH:
                    pickle.dump(("threads", _pack(batch), counting.read_bytes), out, pickle.HIGHEST_PROTOCOL)
                    batch = []
        except ImportFileError as exc:
            pickle.dump(("error", str(exc), counting.read_bytes), out, pickle.HIGHEST_PROTOCOL)
            out.flush()
            return
        if batch:
            pickle.dump(("threads", _pack(batch), counting.read_bytes), out, pickle.HIGHEST_PROTOCOL)
        pickle.dump(("done", {"skipped": dict(tally.skipped), "notes": dict(tally.notes)}, counting.read_bytes), out,
                    pickle.HIGHEST_PROTOCOL)
    out.flush()


if __name__ == "__main__":
    _main(*sys.argv[1:5])
