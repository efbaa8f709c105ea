"""The duplicate rule's key of a comment: what lets the rule find a writer's same comment through a narrow index.

threadlog.moderation.rules.refuse_duplicate refuses a comment whose author posted the same body a moment ago. The
comment table keeps, per row, `dup_key`: a 63-bit hash of the author and the body, in the author's index
(tl_comment_author: author_id, dup_key, status); the rule's query looks the author and key up, then compares the
body itself, so a collision costs a row read, never a wrong answer. (Before 2026-12-03 an index of its own held the
author, the body's last 64 characters and the time: the most expensive index of a rebuild to build.)
"""
from __future__ import annotations

from zlib import adler32, crc32


def duplicate_key(author_id: str, body: str) -> int:
    """0 <= key < 2**63 (a signed 64-bit column on both databases): CRC-32 and Adler-32 of the UTF-8 text (a lone
    surrogate, which the log may hold, encoded as it is). Not a cryptographic hash, and need not be one: it only
    narrows the search to the writer's own rows, and one can only make their own comments collide. Cheap (0.3 µs;
    a rebuild computes it for every comment; BLAKE2b took 0.9). Stored: it must never change (migration
    projections.0011 filled existing rows in with this very function); zlib's checksums are the same on every
    platform and Python version, unlike hash()."""
    text = f"{author_id}\x00{body}".encode("utf-8", "surrogatepass")
    return (crc32(text) << 31) ^ adler32(text)
