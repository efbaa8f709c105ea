"""The thread key of a page's URL: what the embed script derives (frontend/static/threadlog/threadkey.js).

The same rules, character for character, so that the comments an import files under a page's URL are the ones
the widget on that page asks for. docs/import.md states them:

- A URL without a query: its path, `/` written as `~` and any other character outside `A-Z a-z 0-9 . _ ~ -`
  as `-`, at most 200 characters; the root is `~` (the keys threads had before imports).
- A URL with a query (`/?p=4`): `q.` and then path, `?` and query, each `/` written as `~`, `A-Z a-z 0-9 _ -`
  kept, and every other byte as `.` and two upper-case hex digits (`/?p=4` → `q.~.3Fp.3D4`). Path keys start
  with `~` (a path starts with `/`), so no query key equals a path key, and the escaping can be undone, so two
  URLs never share one. Longer than 200 characters: `h.` and the SHA-256 (hex) of path, `?` and query.

Path and query are taken as a browser's `location` gives them: percent-encoded the way the URL standard encodes
them, the fragment dropped.
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

MAX_KEY = 200
_OUTSIDE = re.compile(r"[^A-Za-z0-9._~-]")
_KEPT = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
# What a browser percent-encodes in a special URL's path and query (WHATWG URL: path / special-query sets).
_PATH_ENCODE = frozenset(b' "#<>?`{}')
_QUERY_ENCODE = frozenset(b" \"#<>'")


def _browser_encode(text: str, encode: frozenset[int]) -> str:
    out = []
    for byte in text.encode("utf-8"):
        out.append(f"%{byte:02X}" if byte < 0x21 or byte > 0x7E or byte in encode else chr(byte))
    return "".join(out)


def _escape(text: str) -> str:
    out = []
    for byte in text.encode("utf-8"):
        if byte == 0x2F:  # "/"
            out.append("~")
        elif byte in _KEPT:
            out.append(chr(byte))
        else:
            out.append(f".{byte:02X}")
    return "".join(out)


def key_for_path(path: str, query: str = "") -> str:
    """The key of a page at `path` (`location.pathname`) with `query` (`location.search` without its `?`)."""
    if not query:
        return _OUTSIDE.sub("-", path.replace("/", "~"))[:MAX_KEY] or "~"
    whole = f"{path}?{query}"
    key = "q." + _escape(whole)
    if len(key) <= MAX_KEY:
        return key
    return "h." + hashlib.sha256(whole.encode("utf-8")).hexdigest()


def key_for_url(url: str) -> str:
    """The key the embed script derives on the page at `url` (absolute, or a path such as Isso's ids)."""
    parts = urlsplit(url.strip())
    path = _browser_encode(parts.path or "/", _PATH_ENCODE)
    if not path.startswith("/"):
        path = "/" + path
    return key_for_path(path, _browser_encode(parts.query, _QUERY_ENCODE))
