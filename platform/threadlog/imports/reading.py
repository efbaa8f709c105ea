"""Reading an export into SourceThreads, without Django: used in the importing process or in its reader process."""
from __future__ import annotations

import io
from typing import IO, Callable, Iterator

from . import disqus, isso, wordpress
from .model import ImportFileError, SourceThread, Tally

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
