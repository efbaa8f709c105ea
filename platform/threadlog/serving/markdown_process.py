"""Markdown bodies rendered in a process of their own, so that a post's rendering runs beside the server's Python.

markdown-it-py is pure Python: on the write thread it held the interpreter lock for about a fifth of a
millisecond per Markdown post (a tenth of the server's Python per post), time in which the event loop and every
other thread of the process waited. With 8 clients posting, the process's interpreter lock is what limits a
server on SQLite (the loop thread and the write thread take turns holding it), while a core may be left over.
Under `threadlog serve` with MARKDOWN_PROCESS=on (`threadlog.asgi`) a write thread hands the body to this process
and waits for the HTML without the lock (a blocking read); the projection then finds it among
`projections.markdown`'s recent renders, as it did when the write thread rendered the body ahead of the lock.

The helper is optional: if it is busy (another write thread is using it), cannot start, or fails, the body is
rendered on the calling thread as before. Its output is the same function's (`render_markdown_sanitised`), so
where a body was rendered never changes its HTML. MARKDOWN_PROCESS=on turns it on; it is off by default: on the
loaded shared machine it was measured, the helper's CPU per post (0.3-0.5 ms) exceeded what it took off the
server process, and no gain in posts per second showed (docs/benchmarks.md).

Protocol (`python -m threadlog.serving.markdown_process PARENT_PID`): one JSON string per line on stdin (the
Markdown source), one JSON string per line on stdout (its HTML). The child imports projections.markdown only
(no Django) and ends with the server process (PR_SET_PDEATHSIG).
"""
from __future__ import annotations

import logging
import os
import select
import subprocess
import sys
import threading

import orjson

log = logging.getLogger(__name__)

# A render that takes longer than this is abandoned (the child is replaced) and done on the calling thread.
TIMEOUT_SECONDS = 5.0
# Children that died in a row before the helper gives up and every body is rendered in process.
MAX_FAILURES = 3


class MarkdownProcess:
    """One child process and the lock that lends it to one thread at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._failures = 0

    def start(self) -> "MarkdownProcess":
        with self._lock:
            self._spawn()
        return self

    def _spawn(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [*sys.path, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "threadlog.serving.markdown_process", str(os.getpid())],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)

    def render(self, text: str) -> str | None:
        """The HTML of `text` (projections.markdown.render_markdown_sanitised), or None: render it yourself."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                if self._failures >= MAX_FAILURES:
                    return None
                self._spawn()
                proc = self._proc
            try:
                proc.stdin.write(orjson.dumps(text) + b"\n")
                proc.stdin.flush()
                # one line answers one line: nothing is left in stdout's buffer after it, so select sees the next
                ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT_SECONDS)
                line = proc.stdout.readline() if ready else b""
                if not line.endswith(b"\n"):
                    raise OSError("no answer from the Markdown process")
                html = orjson.loads(line)
            except (OSError, ValueError):
                self._failures += 1
                log.warning("the Markdown process failed; rendering on the request thread", exc_info=True)
                proc.kill()
                proc.wait()
                self._proc = None
                return None
            self._failures = 0
            return html
        finally:
            self._lock.release()

    def stop(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None and proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def main() -> None:
    from threadlog.server_tuning import die_with_parent

    die_with_parent(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    from projections.markdown import render_markdown_sanitised

    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        out.write(orjson.dumps(render_markdown_sanitised(orjson.loads(line))) + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
