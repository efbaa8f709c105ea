"""A second process for a rebuild's rendering: bodies in (a JSON array on stdin), body_html out (stdout).

Run as `python -m projections.render_worker`: a plain child process with nothing of the parent's state
(no inherited database connection, no re-import of the caller's main module, as multiprocessing would do).
"""
from __future__ import annotations

import sys

import orjson

from .render import render_body


def main() -> None:
    bodies = orjson.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(orjson.dumps([render_body(b) for b in bodies]))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
