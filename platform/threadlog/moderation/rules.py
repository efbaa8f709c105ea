"""The rules a command handler consults before it appends: is the writer banned, is the thread closed, is this a
duplicate, and should a new comment be held (and why). Reads the read models only; appends nothing."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from django.conf import settings

from events.sql import fetch_one
from projections.duplicates import duplicate_key
from projections.state import CommentRow, ThreadRow
from threadlog.commands.errors import CommandError

LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class Banned(CommandError):
    """403 banned, with the ban's end (`until`, None: until lifted) in the error body."""

    def __init__(self, until: str | None):
        message = f"you are banned from commenting until {until}" if until else "you are banned from commenting"
        super().__init__("banned", message, 403)
        self.extra = {"until": until}


def ip_subject(ip_hash: str) -> str:
    return f"ip:{ip_hash}"


# The ban in force on a person or IP, the longest first (also a subquery of threadlog.commands.post_context).
BAN_FROM = ("FROM threadlog_ban WHERE subject IN (%s, %s, %s) AND lifted = %s AND (until = '' OR until > %s)"
            " ORDER BY until = '' DESC, until DESC LIMIT 1")


def ban_params(person: str, ip_hash: str, also: str = "") -> list:
    return [person, also or person, ip_subject(ip_hash or "-"), False, now_iso()]


def active_ban(person: str, ip_hash: str, *, also: str = "", using: str = "default") -> tuple[str, str] | None:
    """(ban_id, until) of a ban in force on this person (a guest's author or voter id, a user) or IP, the longest
    first; None when there is none."""
    row = fetch_one(using, f"SELECT ban_id, until {BAN_FROM}", ban_params(person, ip_hash, also))
    return (row[0], row[1]) if row else None


def refuse_ban(until: str | None, *, staff: bool) -> None:
    """403 banned when a ban is in force (`until` not None; "": until lifted). Staff are exempt: they cannot be
    banned by person (409 cannot_ban_staff), and an IP ban on an address they share must not lock them out."""
    if until is not None and not staff:
        raise Banned(until or None)


def refuse_banned(person: str, ip_hash: str, *, staff: bool, also: str = "", using: str = "default") -> None:
    """403 banned (see refuse_ban). A guest acts as two ids (author token, voter id): votes and reports pass both
    (`also`)."""
    ban = active_ban(person, ip_hash, also=also, using=using)
    refuse_ban(ban[1] if ban else None, staff=staff)


def refuse_closed(thread: ThreadRow | None) -> None:
    if thread is not None and thread.closed:
        raise CommandError("thread_closed", "this thread is closed to new comments", 409)


def refuse_unpublished_parent(parent: CommentRow | None) -> None:
    if parent is not None and parent.status != "published":
        raise CommandError("parent_not_published", "replies go to published comments only", 409)


# The duplicate rule's query: the writer's comments with this key (projections.duplicates; index tl_comment_author,
# (author_id, dup_key, status)), then the whole body compared, so a collision of keys never refuses a comment.
# (tests/readers/test_query_plans.py: SQLite, which plans without statistics, reads that index by both.)
DUPLICATE_SQL = ("SELECT 1 FROM threadlog_comment WHERE author_id = %s AND dup_key = %s AND body = %s"
                 " AND created_at > %s AND deleted = %s LIMIT 1")


def duplicate_query(author_id: str, body: str) -> tuple[str, list] | None:
    """The duplicate rule's query and its parameters; None when the rule is off (DUPLICATE_SECONDS=0)."""
    window = settings.THREADLOG["DUPLICATE_SECONDS"]
    if window <= 0:
        return None
    since = (datetime.now(timezone.utc) - timedelta(seconds=window)).isoformat().replace("+00:00", "Z")
    return DUPLICATE_SQL, [author_id, duplicate_key(author_id, body), body, since, False]


def duplicate_comment() -> CommandError:
    return CommandError("duplicate_comment", "you posted this same comment a moment ago", 409)


def refuse_duplicate(author_id: str, body: str, *, using: str = "default") -> None:
    """The same body from the same writer within DUPLICATE_SECONDS: 409 duplicate_comment."""
    query = duplicate_query(author_id, body)
    if query is not None and fetch_one(using, *query):
        raise duplicate_comment()


@lru_cache(maxsize=8)
def _words(words: tuple[str, ...]) -> re.Pattern | None:
    if not words:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)


def has_published(author_id: str, *, using: str = "default") -> bool:
    return fetch_one(using, "SELECT 1 FROM threadlog_comment WHERE author_id = %s AND status = 'published' LIMIT 1",
                     [author_id]) is not None


def hold_reason(*, body: str, author_id: str, is_staff: bool, thread: ThreadRow | None, honeypot: bool,
                using: str = "default") -> str | None:
    """Why a new comment waits for a moderator (a CommentHeld reason), or None: it is published at once."""
    if honeypot:
        return "spam"  # quietly: the writer sees "awaiting moderation" like any held comment
    if is_staff:
        return None
    conf = settings.THREADLOG
    if thread is not None and thread.premoderated:
        return "premoderation"
    mode = conf["MODERATION"]
    if mode == "all":
        return "all"
    content = content_reason(body)
    if content is not None:
        return content
    if mode == "first" and not has_published(author_id, using=using):
        return "first"
    return None


def content_reason(body: str) -> str | None:
    """The rules that look at the text alone: too many links ("links"), a listed word ("words")."""
    conf = settings.THREADLOG
    if len(LINK.findall(body)) > conf["MODERATION_MAX_LINKS"]:
        return "links"
    pattern = _words(tuple(conf["MODERATION_WORDS"]))
    if pattern is not None and pattern.search(body):
        return "words"
    return None


def edit_hold_reason(*, old_body: str, new_body: str, status: str, is_staff: bool) -> str | None:
    """Why an edit sends a published comment back to pending, or None. The text rules apply to an edit too (a
    harmless comment, approved or published, then edited to carry links is the oldest trick of spam), but only
    when the edit is what breaks the rule: a comment a moderator approved with its links is not held again for
    fixing a typo."""
    if is_staff or status != "published":
        return None
    reason = content_reason(new_body)
    return f"edit_{reason}" if reason is not None and content_reason(old_body) != reason else None
