"""Messages: plain text and HTML parts from templates (templates/notifications/), with the headers mail clients
need: List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 one-click), and a Message-ID that is the same every
time the message for one (event, recipient) is built, so a resend after a crash is recognisably the same mail."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from projections.models import CommentView, ThreadView

from .models import NotifyThread, OutboxMessage
from .tokens import confirm_token, link, signin_token, unsubscribe_token


class Drop(Exception):
    """This message is not to be sent any more (its comment is gone, its address erased)."""


@dataclass
class Item:
    """One comment in a message."""

    author: str
    body: str
    url: str
    is_reply: bool


def domain() -> str:
    return urlsplit(settings.SITE_LINK_URL).hostname or "threadlog.local"


def message_id(row: OutboxMessage) -> str:
    return f"<{row.ref}.{row.recipient[:16]}.{row.kind}@{domain()}>"


def thread_title(key: str) -> str:
    title = (ThreadView.objects.filter(pk=key).values_list("title", flat=True).first()
             or NotifyThread.objects.filter(pk=key).values_list("title", flat=True).first())
    return title or key


def comment_url(thread_key: str, comment_id: str) -> str:
    page = NotifyThread.objects.filter(pk=thread_key).values_list("url", flat=True).first()
    base = page or link(f"/t/{quote(thread_key, safe='~._-')}")
    return f"{base}#comment-{comment_id}"


def _message(subject: str, template: str, context: dict, to: str, row: OutboxMessage,
             headers: dict[str, str] | None = None) -> EmailMultiAlternatives:
    context = {**context, "site_url": settings.SITE_LINK_URL}
    subject = " ".join(subject.split())  # a name or title never breaks the header onto a second line
    text = render_to_string(f"notifications/{template}.txt", context)
    html = render_to_string(f"notifications/{template}.html", context)
    msg = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to],
                                 headers={"Message-ID": message_id(row), **(headers or {})})
    msg.attach_alternative(html, "text/html")
    return msg


def confirmation(row: OutboxMessage, to: str) -> EmailMultiAlternatives:
    title = thread_title(row.thread_key)
    url = link(f"/subscriptions/confirm/{confirm_token(row.subscription_id)}")
    return _message(f'Confirm your subscription to "{title}"', "confirm",
                    {"title": title, "confirm_url": url, "days": settings.NOTIFY["CONFIRM_DAYS"],
                     "thread_url": link(f"/t/{quote(row.thread_key, safe='~._-')}")}, to, row)


def signin(row: OutboxMessage, to: str) -> EmailMultiAlternatives:
    url = link(f"/session/email/{signin_token(row.ref)}")
    return _message("Your sign-in link", "signin",
                    {"signin_url": url, "minutes": settings.NOTIFY["SIGNIN_SECONDS"] // 60}, to, row)


UNSUBSCRIBE_SLOT = "@@unsubscribe-url@@"  # rendered once per comment, filled in per recipient


class Cache:
    """What one sender batch looks up and renders once for all its recipients: a comment announced to 10,000
    subscribers is read, and its parts rendered, once; only the addressee and the unsubscribe link differ."""

    def __init__(self) -> None:
        self.titles: dict[str, str] = {}
        self.urls: dict[tuple[str, str], str] = {}
        self.comments: dict[str, CommentView | None] = {}
        self.parts: dict[tuple, tuple[str, str, str] | None] = {}

    def title(self, key: str) -> str:
        if key not in self.titles:
            self.titles[key] = thread_title(key)
        return self.titles[key]

    def url(self, key: str, comment_id: str) -> str:
        if (key, comment_id) not in self.urls:
            self.urls[key, comment_id] = comment_url(key, comment_id)
        return self.urls[key, comment_id]

    def comment(self, comment_id: str) -> CommentView | None:
        if comment_id not in self.comments:
            self.comments[comment_id] = CommentView.objects.filter(pk=comment_id).first()
        return self.comments[comment_id]

    def rendered(self, rows: list[OutboxMessage]) -> tuple[str, str, str] | None:
        """(subject, text, html) for these rows' comments, with UNSUBSCRIBE_SLOT for the link."""
        key = (rows[0].thread_key, rows[0].kind, tuple(r.comment_id for r in rows), tuple(r.kind for r in rows))
        if key not in self.parts:
            self.parts[key] = self._render(rows)
        return self.parts[key]

    def _render(self, rows: list[OutboxMessage]) -> tuple[str, str, str] | None:
        items = []
        for row in rows:
            c = self.comment(row.comment_id)
            if c is None or c.deleted or not c.body:
                continue
            items.append(Item(author=c.author_name, body=c.body, url=self.url(row.thread_key, c.id),
                              is_reply=row.kind == "reply"))
        if not items:
            return None
        title = self.title(rows[0].thread_key)
        if len(items) > 1:
            subject = f'{len(items)} new comments on "{title}"'
        elif items[0].is_reply:
            subject = f'{items[0].author} replied to you on "{title}"'
        else:
            subject = f'New comment by {items[0].author} on "{title}"'
        context = {"title": title, "items": items, "unsubscribe_url": UNSUBSCRIBE_SLOT,
                   "replies": rows[0].kind == "reply", "site_url": settings.SITE_LINK_URL}
        return (" ".join(subject.split()), render_to_string("notifications/comment.txt", context),
                render_to_string("notifications/comment.html", context))


def notification(rows: list[OutboxMessage], to: str, cache: Cache | None = None) -> EmailMultiAlternatives:
    """One comment (or, in a digest, every comment of `rows`) for one recipient."""
    parts = (cache or Cache()).rendered(rows)
    if parts is None:
        raise Drop("the comment was deleted before it could be sent")
    subject, text, html = parts
    first = rows[0]
    unsubscribe = link(f"/subscriptions/unsubscribe/{unsubscribe_token(first.subscription_id)}")
    headers = {"Message-ID": message_id(first), "List-Unsubscribe": f"<{unsubscribe}>",
               "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    msg = EmailMultiAlternatives(subject, text.replace(UNSUBSCRIBE_SLOT, unsubscribe), settings.DEFAULT_FROM_EMAIL,
                                 [to], headers=headers)
    msg.attach_alternative(html.replace(UNSUBSCRIBE_SLOT, unsubscribe), "text/html")
    return msg
