"""Disqus export (Moderation -> Export): <disqus> with <thread>s, then <post>s naming their thread and parent.

Posts refer to threads and parents by `dsq:id` and may come in any order, so each post is kept (as a small
SourceComment, not as XML) until the end of the file; the XML itself streams. Mapping (docs/import.md): thread
link -> URL (and key), title -> title, `id` (the site's identifier) or else dsq:id -> source id; post dsq:id ->
source id, message (HTML) -> body, createdAt -> time, author name and email, parent dsq:id, isDeleted -> deleted,
isSpam -> spam, likes and dislikes (when the export has them) -> votes.
"""
from __future__ import annotations

from typing import IO, Iterator

from .html_text import html_to_text
from .model import ImportFileError, SourceComment, SourceThread, Status, Tally, parse_time
from .xml_stream import attribute, child_text, local, top_level


def _flag(elem, name: str) -> bool:
    return (child_text(elem, name) or "").strip().lower() == "true"


def _count(elem, name: str) -> int:
    try:
        return max(0, int((child_text(elem, name) or "0").strip()))
    except ValueError:
        return 0


def read(fp: IO[bytes], tally: Tally) -> Iterator[SourceThread]:
    threads: dict[str, SourceThread] = {}
    posts: list[tuple[str, SourceComment]] = []
    n_threads = n_posts = 0
    for elem in top_level(fp, "disqus", 1, "a Disqus export"):
        tag = local(elem.tag)
        if tag == "thread":
            n_threads += 1
            dsq_id = attribute(elem, "id")
            if not dsq_id:
                raise ImportFileError(f"thread {n_threads}: dsq:id is missing; nothing was imported")
            link = (child_text(elem, "link") or "").strip()
            if not link:
                threads[dsq_id] = SourceThread(id=dsq_id, url="", title="")  # its posts are counted below
                continue
            ident = (child_text(elem, "id") or "").strip()
            title = (child_text(elem, "title") or "").strip()
            if not ident or not title:
                tally.note("threads without an id or title: identified by their link")
            threads[dsq_id] = SourceThread(id=dsq_id, url=link, title=title or link,
                                           created_at=parse_time(child_text(elem, "createdAt")))
        elif tag == "post":
            n_posts += 1
            posts.append(_post(elem, n_posts))
    for thread_id, comment in posts:
        thread = threads.get(thread_id)
        if thread is None:
            tally.skip("posts whose thread is not in the file")
        elif not thread.url:
            tally.skip("comments of a thread without a link (its page is unknown)")
        else:
            thread.comments.append(comment)
    for thread in threads.values():
        if thread.url and not thread.comments:
            tally.note("posts or pages without comments: no thread opened")
    yield from (t for t in threads.values() if t.url and t.comments)


def _post(elem, n: int) -> tuple[str, SourceComment]:
    where = f"post {n}"
    pid = attribute(elem, "id")
    if not pid:
        raise ImportFileError(f"{where}: dsq:id is missing; nothing was imported")
    thread_ref = next((c for c in elem if local(c.tag) == "thread"), None)
    thread_id = attribute(thread_ref, "id") if thread_ref is not None else None
    if not thread_id:
        raise ImportFileError(f"{where} (dsq:id {pid}): its <thread dsq:id> is missing; nothing was imported")
    when = parse_time(child_text(elem, "createdAt"))
    if when is None:
        raise ImportFileError(f"{where} (dsq:id {pid}): createdAt is missing or unreadable; nothing was imported")
    parent_ref = next((c for c in elem if local(c.tag) == "parent"), None)
    author = next((c for c in elem if local(c.tag) == "author"), None)
    status = Status.SPAM if _flag(elem, "isSpam") else Status.TRASH if _flag(elem, "isDeleted") else Status.APPROVED
    return thread_id, SourceComment(
        id=pid, parent_id=attribute(parent_ref, "id") if parent_ref is not None else None,
        author_name=(child_text(author, "name") or "").strip() if author is not None else "",
        author_email=(child_text(author, "email") or "").strip() if author is not None else "",
        body=html_to_text(child_text(elem, "message") or "", newlines_are_breaks=False), created_at=when,
        status=status, up=_count(elem, "likes"), down=_count(elem, "dislikes"), order=n,
    )
