"""Isso's generic JSON import format: a list of threads {id, title, comments: [{id, author, email, website,
remote_addr, created, text}]}.

Isso's documented format has no replies; its own database does, and exports written from it often carry
`parent` (the parent's id), `mode` (1 accepted, 2 pending, 4 deleted), `likes` and `dislikes`: these are read
when present. `id` is the page's path (or whatever `data-isso-id` named); `--site-url` makes it a full URL.
The file is parsed whole (JSON has no cheap streaming parser in the standard library; Isso exports are small).
"""
from __future__ import annotations

import json
from typing import IO, Any, Iterator

from .html_text import html_to_text
from .model import ImportFileError, SourceComment, SourceThread, Status, Tally, parse_time

_MODES = {1: Status.APPROVED, 2: Status.PENDING, 4: Status.TRASH}


def read(fp: IO[bytes], tally: Tally, site_url: str = "") -> Iterator[SourceThread]:
    try:
        data = json.load(fp)
    except UnicodeDecodeError:
        raise ImportFileError("the file is not UTF-8 text; nothing was imported") from None
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"the file is not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg});"
                              " nothing was imported") from None
    if not isinstance(data, list):
        raise ImportFileError("an Isso import is a JSON list of threads; nothing was imported")
    order = 0
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise ImportFileError(f"thread {n}: not an object; nothing was imported")
        ident = item.get("id")
        if not isinstance(ident, str) or not ident.strip():
            raise ImportFileError(f"thread {n}: id (the page's path) is missing; nothing was imported")
        comments = item.get("comments") or []
        if not isinstance(comments, list):
            raise ImportFileError(f"thread {n}: comments is not a list; nothing was imported")
        if not comments:
            tally.note("posts or pages without comments: no thread opened")
            continue
        ident = ident.strip()
        url = site_url.rstrip("/") + ident if site_url and ident.startswith("/") else ident
        title = item.get("title") if isinstance(item.get("title"), str) else ""
        if not title.strip():
            tally.note("threads without an id or title: identified by their link")
        thread = SourceThread(id=ident, url=url, title=title.strip() or url)
        for i, c in enumerate(comments, start=1):
            order += 1
            thread.comments.append(_comment(c, f"thread {n}, comment {i}", order))
        yield thread


def _comment(c: Any, where: str, order: int) -> SourceComment:
    if not isinstance(c, dict):
        raise ImportFileError(f"{where}: not an object; nothing was imported")
    cid = c.get("id")
    if cid is None or str(cid).strip() == "":
        raise ImportFileError(f"{where}: id is missing; nothing was imported")
    cid = str(cid).strip()
    created = c.get("created")
    when = parse_time(str(created)) if isinstance(created, (str, int, float)) and not isinstance(created, bool) \
        else None
    if when is None and isinstance(created, (int, float)) and not isinstance(created, bool):
        from datetime import datetime, timezone

        from .model import iso_utc

        when = iso_utc(datetime.fromtimestamp(created, timezone.utc))
    if when is None:
        raise ImportFileError(f"{where} (id {cid}): created is missing or unreadable; nothing was imported")
    parent = c.get("parent")
    status = _MODES.get(c.get("mode", 1), Status.PENDING)

    def count(name: str) -> int:
        value = c.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

    return SourceComment(
        id=cid, parent_id=None if parent in (None, "", 0) else str(parent),
        author_name=str(c.get("author") or "").strip(), author_email=str(c.get("email") or "").strip(),
        body=html_to_text(str(c.get("text") or "")), created_at=when, status=status,
        up=count("likes"), down=count("dislikes"), order=order,
    )
