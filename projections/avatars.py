"""Which identicon a comment shows: a name derived from a hash of its author's identity (never the e-mail).

The name is a pure function of the author id that the log records, so live frames and a rebuild agree; it is a
one-way hash (the author id is personal: readers never see it), and an erased person's comments show none
(projections.thread). The picture itself is drawn by threadlog.readers.avatars from this name alone.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

AVATAR_PREFIX = "/avatars/"


@lru_cache(maxsize=4096)
def avatar_name(author_id: str) -> str:
    """20 hex digits (80 bits) of SHA-256 over a fixed label and the author id."""
    return hashlib.sha256(b"threadlog-avatar\x00" + author_id.encode()).hexdigest()[:20]


def avatar_path(author_id: str) -> str:
    return f"{AVATAR_PREFIX}{avatar_name(author_id)}.svg"
