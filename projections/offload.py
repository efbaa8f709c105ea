"""The second process a rebuild hands its costliest work to: rendering bodies and opening sealed author names.

Both depend on nothing else in a replay, so while this process folds the log, `python -m projections.render_worker`
does them, batch by batch as the log is read (`Jobs`); the rows are filled in and inserted as its answers arrive.
"""
from __future__ import annotations

import collections
import contextlib
import fcntl
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Iterator

import orjson

from events.people import KeyRing

from .render_worker import work
from .state import CommentRow

log = logging.getLogger(__name__)

PARALLEL_MIN = 4000  # events; below this a second process costs more than it saves
JOBS_PER_BATCH = 500

Job = tuple[str, str, "str | None", "str | None", str, bool]  # comment id, body, author, sealed name, format, posted


class Jobs:
    """What a replay leaves for later: each CommentPosted or CommentEdited body to render, with the sealed author
    name to open, in batches of JOBS_PER_BATCH, each sent to the helper process (if any) as soon as it is full."""

    def __init__(self, keyring: KeyRing, helper: "Helper | None"):
        self.keyring, self.helper = keyring, helper
        self.batches: list[list[Job]] = []
        self.local: set[int] = set()  # batches the helper never got (orjson cannot encode them): done here
        self._people: set[str] = set()

    def collect(self, events: Iterable) -> Iterator:
        """Pass the events through, noting the work each leaves."""
        pending: list[Job] = []
        pump = self.helper.pump if self.helper is not None else None
        for i, ev in enumerate(events):
            if ev.type == "CommentPosted":
                data = ev.data
                token = data.get("sealed_author") or None
                pending.append((data["comment_id"], data["body"], data["author_id"] if token else None, token,
                                data.get("format", "plain"), True))
            elif ev.type == "CommentEdited":
                data = ev.data
                pending.append((data["comment_id"], data["body"], None, None, data.get("format", "plain"), False))
            if len(pending) >= JOBS_PER_BATCH:
                self._seal_batch(pending)
                pending = []
            elif pump is not None and i % 64 == 0:
                pump()
            yield ev
        if pending:
            self._seal_batch(pending)

    def _seal_batch(self, batch: list[Job]) -> None:
        n = len(self.batches)
        self.batches.append(batch)
        if self.helper is None:
            return
        people = {job[2] for job in batch if job[2] is not None and job[2] not in self._people}
        self._people |= people
        if not (self.helper.send({"keys": {p: self.keyring.key(p) for p in people}})
                and self.helper.send({"batch": n, "jobs": [job[1:5] for job in batch]}, n)):
            self.local.add(n)

    def _here(self, n: int) -> list[tuple[str, str | None]]:
        return work([job[1:5] for job in self.batches[n]], self.keyring.key)

    def rows(self, comments: dict[str, CommentRow]) -> Iterator[CommentRow]:
        """After the fold: every comment row, body_html and author name filled in, roughly in position order,
        each batch's as soon as its answers are in (a rebuild inserts them meanwhile).

        The helper works from the front of the queue of batches; when the next batch in order is not answered
        yet, this process takes one from the back of the queue and does it itself, and feeds the helper between
        batches, so neither waits for the other until the last batch."""
        helper, done = self.helper, {}
        answers = helper.answers if helper is not None else {}
        for n in self.local:
            done[n] = self._here(n)
        later: list[CommentRow] = []  # rows whose final body is an edit of a later batch
        given: set[str] = set()  # a comment id posted twice (an imported log) is still one row
        feeding = helper is not None
        for n in range(len(self.batches)):
            if helper is not None and n not in done and n not in answers:
                helper.poll()
            while n not in done and n not in answers:
                if helper is None:
                    done[n] = self._here(n)
                elif feeding and (stolen := helper.steal()) is not None:
                    done[stolen] = self._here(stolen)
                    helper.poll()
                elif feeding:
                    helper.finish()
                    feeding = False
                elif not helper.wait_for(n):  # the helper died: the rest is done here
                    done[n] = self._here(n)
            if feeding:
                helper.pump()
            ready = []
            for job, (html, name) in zip(self.batches[n], done.pop(n) if n in done else answers.pop(n)):
                row = comments.get(job[0])
                if row is None:
                    continue
                if row.body_html is None and row.body == job[1] and row.format == job[4]:
                    row.body_html = html
                if job[3] is not None and row.author_name is None:
                    row.author_name = name
                if job[5] and job[0] not in given:
                    given.add(job[0])
                    (ready if row.body_html is not None else later).append(row)
            yield from ready
        yield from later


class Helper:
    """The `render_worker` process. This process writes to its stdin without ever waiting (what the pipe cannot
    take yet is queued here, and this process takes batches back from the end of that queue when its fold is
    done), and it answers into a temporary file, read back as the answers arrive. No threads: a thread of this
    process gets the interpreter lock only every few milliseconds while the fold runs, and the helper starved."""

    def __init__(self, proc: subprocess.Popen, answers_file):
        self.proc = proc
        self.answers: dict[int, list] = {}  # batch -> answers, until taken
        self.answered = 0  # batches answered so far
        self._answers_file, self._read_at, self._partial = answers_file, 0, b""
        self._queue: collections.deque[tuple[int, bytes]] = collections.deque()  # (batch, or -1: keys; message)
        self._writing = b""  # the rest of the message being written
        self._stdin = proc.stdin.fileno()
        os.set_blocking(self._stdin, False)
        try:  # Linux: room for a few batches ahead (the default 64 KiB holds less than one)
            fcntl.fcntl(self._stdin, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except OSError:
            pass

    @classmethod
    def start(cls) -> "Helper":
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        answers = _answers_file()
        try:
            proc = subprocess.Popen([sys.executable, "-m", "projections.render_worker"], stdin=subprocess.PIPE,
                                    stdout=answers, cwd=root, env=env)
        except BaseException:
            answers.close()
            raise
        try:
            return cls(proc, answers)
        except BaseException:
            proc.kill()
            proc.wait()
            answers.close()
            raise

    def send(self, message: dict, batch: int = -1) -> bool:
        """Queue a message and write what the pipe takes; False if it cannot be encoded (a lone surrogate)."""
        try:
            self._queue.append((batch, orjson.dumps(message) + b"\n"))
        except orjson.JSONEncodeError:
            return False
        self._write()
        return True

    def pump(self) -> None:
        """Write on what the pipe can take now (called every few events while the fold runs)."""
        if self._writing or self._queue:
            self._write()

    def _write(self) -> None:
        while self._writing or self._queue:
            if not self._writing:
                self._writing = self._queue.popleft()[1]
            try:
                n = os.write(self._stdin, self._writing)
            except BlockingIOError:
                return
            except OSError:  # the helper is gone; what it did not answer is done here
                self._writing, self._queue = b"", collections.deque()
                return
            self._writing = self._writing[n:]

    def steal(self) -> int | None:
        """The last batch not yet being written to the helper, taken back (to be done here); None if none is left."""
        while self._queue:
            batch, _ = self._queue.pop()
            if batch >= 0:  # a keys message left behind is harmless: only later batches could have needed it
                return batch
        return None

    def finish(self) -> None:
        """Write the rest of what is queued (waiting for the pipe if need be) and close the helper's stdin."""
        os.set_blocking(self._stdin, True)
        try:
            for line in [self._writing] + [m for _, m in self._queue]:
                self.proc.stdin.write(line)
            self.proc.stdin.close()
        except OSError:  # the helper is gone; what it did not answer is done here
            pass
        self._writing, self._queue = b"", collections.deque()

    def poll(self) -> bool:
        """Read the answers written so far; False once the helper has exited and everything is read."""
        alive = self.proc.poll() is None
        fd = self._answers_file.fileno()
        size = os.fstat(fd).st_size
        if size <= self._read_at:
            return alive
        chunk = os.pread(fd, size - self._read_at, self._read_at)
        self._read_at += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        for line in lines:
            message = orjson.loads(line)
            self.answers[message["batch"]] = message["out"]
            self.answered += 1
        return alive or bool(chunk)

    def wait_for(self, batch: int) -> bool:
        """Until the helper has answered this batch (True), or has exited without (False)."""
        while batch not in self.answers:
            if not self.poll():
                return batch in self.answers
            if batch not in self.answers:
                time.sleep(0.0005)
        return True

    def close(self) -> None:
        if self.proc.poll() is None:  # still working on batches this process already did
            self.proc.kill()
        self.proc.wait()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self._answers_file.close()


def _answers_file():
    """Where the helper writes its answers: they hold opened author names, so in memory (a Linux memfd) rather
    than in a temporary file on disk, where the system has one."""
    if hasattr(os, "memfd_create"):
        try:
            return os.fdopen(os.memfd_create("threadlog-rebuild", os.MFD_CLOEXEC), "w+b")
        except OSError:
            pass
    return tempfile.TemporaryFile(prefix="threadlog-rebuild-")


@contextlib.contextmanager
def helper_for(head: int) -> Iterator["Helper | None"]:
    helper = None
    if head >= PARALLEL_MIN:
        try:
            helper = Helper.start()
        except OSError:  # no second process here: this one does all the work
            log.warning("rebuild: could not start projections.render_worker; rendering in this process",
                        exc_info=True)
    try:
        yield helper
    finally:
        if helper is not None:
            helper.close()
