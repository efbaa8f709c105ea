"""WordPress export (WXR 1.0-1.2, Tools -> Export): posts and pages with their comments, wpDiscuz's votes.

Each <item> (a post or page) is read once complete and then dropped: the file streams. Mapping (docs/import.md):
item link -> the thread's URL (and key), title -> title; each <wp:comment>: comment_id, comment_parent (0: top
level), comment_author, comment_author_email, comment_date_gmt (else comment_date), comment_content (HTML),
comment_approved (1 approved, 0 pending, spam, trash, post-trashed), comment_type (pingback and trackback
skipped), and in its <wp:commentmeta> wpDiscuz's `wpdiscuz_votes_seperate` (likes and dislikes) or
`wpdiscuz_votes` (their difference).
"""
from __future__ import annotations

import re
from typing import IO, Iterator

from .html_text import html_to_text
from .model import ImportFileError, SourceComment, SourceThread, Status, Tally, parse_time
from .xml_stream import child_text, children, ended

_APPROVAL = {"1": Status.APPROVED, "approve": Status.APPROVED, "0": Status.PENDING, "hold": Status.PENDING,
             "spam": Status.SPAM, "trash": Status.TRASH, "post-trashed": Status.TRASH}
_LIKES = re.compile(r'"like";i:(\d+)')
_DISLIKES = re.compile(r'"dislike";i:(\d+)')


def read(fp: IO[bytes], tally: Tally) -> Iterator[SourceThread]:
    order = 0
    for n, elem in enumerate(_items(fp), start=1):
        comments = list(children(elem, "comment"))
        if not comments:
            tally.note("posts or pages without comments: no thread opened")
            continue
        post_id = (child_text(elem, "post_id") or "").strip()
        link = (child_text(elem, "link") or "").strip() or (child_text(elem, "guid") or "").strip()
        where = f"item {n}" + (f" (post id {post_id})" if post_id else "")
        if not link:
            tally.skip("comments of a post without a link (its page is unknown)", len(comments))
            continue
        title = (child_text(elem, "title") or "").strip()
        if not title or not post_id:
            tally.note("threads without an id or title: identified by their link")
        thread = SourceThread(id=post_id or link, url=link, title=title or link,
                              created_at=parse_time(child_text(elem, "post_date_gmt")))
        for i, c in enumerate(comments, start=1):
            order += 1
            thread.comments.append(_comment(c, f"{where}, comment {i}", order, tally))
        yield thread


def _items(fp: IO[bytes]) -> Iterator:
    return ended(fp, "item", "rss", "a WordPress export (WXR)")


def _fields(c) -> dict[str, str]:
    """The comment's simple fields by local name, in one pass (the first of each name)."""
    out: dict[str, str] = {}
    for child in c:
        name = child.tag.rsplit("}", 1)[-1]
        if name not in out:
            out[name] = child.text or ""
    return out


def _comment(c, where: str, order: int, tally: Tally) -> SourceComment:
    f = _fields(c)
    cid = (f.get("comment_id") or "").strip()
    if not cid:
        raise ImportFileError(f"{where}: wp:comment_id is missing; nothing was imported")
    when = parse_time(f.get("comment_date_gmt"))
    if when is None:
        when = parse_time(f.get("comment_date"))
        if when is None:
            raise ImportFileError(f"{where} (comment id {cid}): wp:comment_date is missing or unreadable;"
                                  " nothing was imported")
        tally.note("comments without a GMT date: their local date taken as UTC")
    parent = (f.get("comment_parent") or "0").strip()
    approved = (f.get("comment_approved") or "1").strip()
    status = _APPROVAL.get(approved)
    if status is None:
        tally.note(f"comments with an unknown approval state: treated as pending")
        status = Status.PENDING
    if (f.get("comment_type") or "").strip() in ("pingback", "trackback"):
        status = Status.PINGBACK
    up, down = _votes(c) if "commentmeta" in f else (0, 0)
    return SourceComment(
        id=cid, parent_id=None if parent in ("", "0") else parent,
        author_name=(f.get("comment_author") or "").strip(),
        author_email=(f.get("comment_author_email") or "").strip(),
        body=html_to_text(f.get("comment_content") or ""), created_at=when, status=status,
        up=up, down=down, order=order,
    )


def _votes(c) -> tuple[int, int]:
    """wpDiscuz's votes: likes and dislikes (`wpdiscuz_votes_seperate`, a PHP-serialised array), else their sum
    (`wpdiscuz_votes`, negative when dislikes win)."""
    meta = {}
    for m in children(c, "commentmeta"):
        pair = {child.tag.rsplit("}", 1)[-1]: (child.text or "").strip() for child in m}
        meta[pair.get("meta_key", "")] = pair.get("meta_value", "")
    separate = meta.get("wpdiscuz_votes_seperate") or meta.get("wpdiscuz_votes_separate")
    if separate:
        likes, dislikes = _LIKES.search(separate), _DISLIKES.search(separate)
        return int(likes.group(1)) if likes else 0, int(dislikes.group(1)) if dislikes else 0
    try:
        total = int(meta.get("wpdiscuz_votes") or 0)
    except ValueError:
        return 0, 0
    return max(total, 0), max(-total, 0)
