"""Atom 1.0 feeds of the newest comments: of one thread (/t/<key>/feed.atom) and of the whole site (/feed.atom).

Written by Django's Atom1Feed (it escapes every text and writes the required elements); each entry's summary is
the comment's sanitised HTML, escaped as type="html". Authors show as the read model names them, "[erased]" for
an erased person. Only the comments a reader sees are listed (projections.readers.SHOWN).
"""
from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.feedgenerator import Atom1Feed

from projections.readers import newest_comments, thread_titles
from projections.state import CommentRow

FEED_ENTRIES = 50


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _feed(request: HttpRequest, *, title: str, link: str, feed_id: str, rows: list[CommentRow],
          titles: dict[str, str]) -> str:
    feed = Atom1Feed(title=title, link=request.build_absolute_uri(link), description="",
                     feed_url=request.build_absolute_uri(), feed_guid=feed_id, language="en")
    for row in rows:
        where = titles.get(row.thread_key, row.thread_key)
        feed.add_item(
            title=f"{row.author_name} on {where}",
            link=request.build_absolute_uri(f"/t/{row.thread_key}#comment-{row.id}"),
            description=row.body_html if row.body_html is not None else "",
            unique_id=f"urn:uuid:{row.id}",
            author_name=row.author_name or "anonymous",
            pubdate=_when(row.created_at),
            updateddate=_when(row.edited_at or row.created_at),
        )
    return feed.writeString("utf-8")


def thread_feed(request: HttpRequest, key: str, title: str) -> str:
    rows = newest_comments(thread=key, limit=FEED_ENTRIES)
    return _feed(request, title=f"Comments on {title}", link=f"/t/{key}",
                 feed_id=request.build_absolute_uri(f"/t/{key}/feed.atom"), rows=rows, titles={key: title})


def site_feed(request: HttpRequest) -> str:
    rows = newest_comments(limit=FEED_ENTRIES)
    return _feed(request, title="Newest comments", link="/", feed_id=request.build_absolute_uri("/feed.atom"),
                 rows=rows, titles=thread_titles({r.thread_key for r in rows}))
