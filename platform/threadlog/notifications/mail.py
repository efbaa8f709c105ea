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
    return urlsplit(settings.SITE_URL).hostname or "threadlog.local"


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
    context = {**context, "site_url": settings.SITE_URL}
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


def notification(rows: list[OutboxMessage], to: str) -> EmailMultiAlternatives:
    """One comment (or, in a digest, every comment of `rows`) for one recipient."""
    first = rows[0]
    comments = {c.id: c for c in CommentView.objects.filter(id__in=[r.comment_id for r in rows])}
    items = []
    for row in rows:
        c = comments.get(row.comment_id)
        if c is None or c.deleted or not c.body:
            continue
        items.append(Item(author=c.author_name, body=c.body, url=comment_url(row.thread_key, c.id),
                          is_reply=row.kind == "reply"))
    if not items:
        raise Drop("the comment was deleted before it could be sent")
    title = thread_title(first.thread_key)
    unsubscribe = link(f"/subscriptions/unsubscribe/{unsubscribe_token(first.subscription_id)}")
    if len(items) > 1:
        subject = f'{len(items)} new comments on "{title}"'
    elif items[0].is_reply:
        subject = f'{items[0].author} replied to you on "{title}"'
    else:
        subject = f'New comment by {items[0].author} on "{title}"'
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return _message(subject, "comment", {"title": title, "items": items, "unsubscribe_url": unsubscribe,
                                         "replies": first.kind == "reply"}, to, first, headers)
