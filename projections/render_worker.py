"""A rebuild's second process: renders bodies and opens sealed author names while the parent folds the log.

Run as `python -m projections.render_worker`: a plain child process with nothing of the parent's state (no
Django, no inherited database connection, no re-import of the caller's main module, as multiprocessing would do).

JSON lines on stdin, JSON lines on stdout:
    in   {"keys": {person: key or null}}                     keys of the people in the batches that follow
    in   {"batch": n, "jobs": [[body, person, token, format], ...]}  person and token null: render only
    out  {"batch": n, "out": [[body_html, name], ...]}       name: the sealed name (or ERASED); null without token
Each batch is answered as soon as it is done, so the parent can do the last batches itself when it gets there
first (projections.rebuild).
"""
from __future__ import annotations

import sys
from typing import Callable, Iterable

import orjson

from events.sealing import sealed_name

from .render import render

Job = tuple[str, "str | None", "str | None", str]  # body, person, sealed token, format (events.formats)


def work(jobs: Iterable[Job], key_of: Callable[[str], "str | None"]) -> list[tuple[str, str | None]]:
    """Each job's body_html and, for a sealed one, the author name it shows (key_of: person -> key or None)."""
    return [(render(body, format), sealed_name(key_of(person), person, token) if token else None)
            for body, person, token, format in jobs]


def main() -> None:
    keys: dict[str, str | None] = {}
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        msg = orjson.loads(line)
        if "keys" in msg:
            keys.update(msg["keys"])
            continue
        out.write(orjson.dumps({"batch": msg["batch"], "out": work(msg["jobs"], keys.get)}) + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
