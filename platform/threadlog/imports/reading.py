"""Reading an export into SourceThreads, without Django: used in the importing process or in its reader process."""
from __future__ import annotations

import io
from typing import IO, Callable, Iterator

from urllib.parse import urlsplit, urlunsplit

from projections.render import render

from . import disqus, isso, wordpress
from .model import ImportFileError, SourceThread, Status, Tally, comment_uuid
from .order import order_thread
from .thread_key import key_for_url

Progress = Callable[[int], None]  # called with the bytes read so far


class Counting(io.RawIOBase):
    """A file reader that reports how far it has read (the progress bar)."""

    def __init__(self, raw: IO[bytes], progress: Progress | None):
        self.raw, self.progress, self.read_bytes = raw, progress, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.read_bytes += n
        if self.progress is not None and n:
            self.progress(self.read_bytes)
        return n


def detect(head: bytes) -> str:
    """The format from the first bytes of the file: JSON (Isso), or XML with an <rss> (WordPress) or <disqus> root."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"[", b"{"):
        return "isso"
    lowered = text.lower()
    if b"<rss" in lowered or b"wordpress.org/export" in lowered:
        return "wordpress"
    if b"<disqus" in lowered:
        return "disqus"
    raise ImportFileError("unknown format: neither a WordPress export (WXR), a Disqus export nor Isso JSON;"
                          " name it with --format")


def read_threads(fp: IO[bytes], fmt: str, tally: Tally, site_url: str) -> Iterator[SourceThread]:
    if fmt == "wordpress":
        yield from wordpress.read(fp, tally)
    elif fmt == "disqus":
        yield from disqus.read(fp, tally)
    else:
        yield from isso.read(fp, tally, site_url)


def moved(url: str, site_url: str) -> str:
    """The URL on `site_url`'s scheme and host (a site that moved); the path, and so the key, stays."""
    if not site_url or not url.startswith(("http://", "https://")):
        return url
    site, parts = urlsplit(site_url), urlsplit(url)
    return urlunsplit((site.scheme or parts.scheme, site.netloc or parts.netloc, parts.path, parts.query, ""))


def prepared(threads: Iterator[SourceThread], fmt: str, site_url: str, *, tally: Tally,
             held_possible: bool) -> Iterator[SourceThread]:
    """The threads with what can be worked out without the database: the URL on the site's address, the thread
    key, which comments are kept and in what order (order.py), each one's id and its body rendered as the
    projection renders it. The reader process does this while the importing process appends (reader_process)."""
    for thread in threads:
        thread.url = moved(thread.url, site_url)
        thread.key = key = key_for_url(thread.url)
        order_thread(thread, held_possible=held_possible, tally=tally)
        for c in thread.comments:
            c.uid = comment_uuid(fmt, key, c.id)
            c.html = None if c.status is Status.TRASH else render(c.body)  # a placeholder's body is never shown
        yield thread
