"""An event in words, for auditors' lists (the audit pages' event list, actor page, comment history).

Known types get a sentence; any other type (new capabilities add their own, e.g. moderation) is described
generically by its type name and data, so it shows up on every audit page without a change here.
"""
from __future__ import annotations

import re
from typing import Any

from .store import RecordedEvent

VOTE_WORDS = {1: "voted up", -1: "voted down", 0: "took back a vote"}
# Data fields that are not worth repeating in a generic description (long, or sealed)
_NOISE = ("body", "sealed_author", "author_email")
_WHO = ("moderator", "reporter", "actor")  # who did it, for "… by X"


def _clip(text: str, limit: int = 100) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(ev: RecordedEvent, data: dict[str, Any] | None = None) -> str:
    """One line about `ev`; `data` is its data with sealed fields opened (events.people.reveal), if at hand."""
    d = ev.data if data is None else data
    t = ev.type
    if t == "ThreadOpened":
        return f"opened thread {d.get('key', ev.stream)!r}" + (f" “{_clip(d['title'])}”" if d.get("title") else "")
    if t == "CommentPosted":
        who = d.get("author_name") or d.get("author_id", "")
        where = "replied" if d.get("parent_id") else "posted"
        on = f" on the passage “{_clip(d['anchor'].get('exact', ''), 60)}”" if isinstance(d.get("anchor"), dict) else ""
        return f"{who} {where}{on}: “{_clip(d.get('body', ''))}”"
    if t == "CommentEdited":
        return f"edited: “{_clip(d.get('body', ''))}”"
    if t == "CommentDeleted":
        reason = f" (reason: {d['reason']})" if d.get("reason") else ""
        return f"deleted by {d.get('deleted_by', '?')}{reason}"
    if t == "VoteCast":
        return f"{d.get('voter', '?')} {VOTE_WORDS.get(d.get('value'), 'voted ' + str(d.get('value')))}"
    if t == "PersonErased":
        return f"erased {d.get('person', '?')} (bodies {d.get('bodies', 'kept')})"
    return generic(t, d)


def generic(type_name: str, data: dict[str, Any]) -> str:
    """A type this module does not know, in words from its name and data: `CommentHidden {moderator, reason}`
    reads "comment hidden by user:1 (reason: …)"; other fields follow as name=value."""
    words = " ".join(w.lower() for w in re.findall(r"[A-Z][a-z]*|[a-z]+|\d+", type_name)) or type_name
    who = next((str(data[k]) for k in _WHO if data.get(k)), "")
    rest = [f"{k}={_clip(v, 60)}" for k, v in sorted(data.items())
            if k not in _NOISE and k not in _WHO and k not in ("reason", "comment_id") and v not in (None, "")]
    text = words + (f" by {who}" if who else "") + (": " + ", ".join(rest) if rest else "")
    return text + (f" (reason: {_clip(data['reason'])})" if data.get("reason") else "")
