"""HTTP: the subscription and sign-in API (a django-ninja router added to threadlog's API) and the pages that
links in messages open (confirm, unsubscribe, sign in)."""
from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Literal, Optional

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from ninja import Router
from pydantic import ConfigDict, Field, StrictStr

from events.people import person_key, seal
from events.store import get_store
from projections.models import CommentView, ThreadView
from threadlog.api import ratelimit
from threadlog.api.identity import AUTHOR_COOKIE, identify
from threadlog.api.schemas import _Strict
from threadlog.api.views import ApiError, _json, _key, api
from threadlog.commands import Actor, CommandError, handle

from . import runner
from .commands import ConfirmSubscription, EndSubscription, LinkGuest, RequestSubscription
from .models import NotifyThread, OutboxMessage, SignInToken, Subscription
from .notifier import own_write
from .readers import SESSION_EMAIL, SESSION_READER, identities, signed_in
from .tokens import BadToken, address_of, open_confirm, open_signin, open_unsubscribe, reader_of

router = Router(tags=["subscriptions"])
SIGNIN_LINKS_PER_10_MINUTES = 5


# The document asks every client for an address; one signed in by e-mail may leave it out (theirs is used).
_EMAIL_DOC = {"type": "string", "format": "email", "maxLength": 254}


def _email_required(schema: dict) -> None:
    schema["required"] = ["email"]


def _email_doc(schema: dict) -> None:
    schema.clear()
    schema.update(_EMAIL_DOC, title="Email")


class SubscribeIn(_Strict):
    model_config = ConfigDict(json_schema_extra=_email_required)
    email: Optional[StrictStr] = Field(default=None, max_length=254, json_schema_extra=_email_doc)
    notify: Literal["comments", "replies"] = "comments"


class EmailIn(_Strict):
    # no min_length: a short string is no address, and _email() says so with its own code (invalid_email)
    email: StrictStr = Field(max_length=254, json_schema_extra=_email_doc)


def _email(value: str | None) -> str:
    value = (value or "").strip()
    try:
        if "\x00" in value:
            raise DjangoValidationError("NUL")
        validate_email(value)
    except DjangoValidationError:
        raise ApiError(422, "invalid_email", "email: not a valid e-mail address") from None
    return value


def _accepted(body: dict) -> HttpResponse:
    return _json(body, 202)


@router.post("/threads/{key}/subscriptions", response={202: dict})
def subscribe(request: HttpRequest, key: str, payload: SubscribeIn):
    """Ask for e-mails about a thread. Always `confirmation_sent`: whether the address is known is not told."""
    _key(key)
    who = identify(request)
    ratelimit.check("post", who.author.id, who.author.ip_hash)
    account = signed_in(request)
    email = _email(payload.email if payload.email else (account[1] if account else ""))
    handle(RequestSubscription(thread=key, email=email, notify=payload.notify), who.author)
    out = _accepted({"status": "confirmation_sent"})
    who.set_cookies(out)
    return out


def _subscription_json(sub: Subscription, titles: dict[str, str]) -> dict:
    return {"id": sub.id, "thread": sub.thread_key, "title": titles.get(sub.thread_key) or sub.thread_key,
            "notify": sub.notify, "status": "active" if sub.state == "confirmed" else "pending",
            "created_at": sub.requested_at}


def _mine(request: HttpRequest):
    """The subscriptions this browser may see and end: its reader's (by person or address), its guest's."""
    who = identify(request)
    mine = Q(person__in=identities(who.author.id))
    account = signed_in(request)
    if account and account[1]:
        mine |= Q(address=address_of(account[1]))
    return who, Subscription.objects.filter(mine).exclude(state="ended")


@router.get("/subscriptions")
def my_subscriptions(request: HttpRequest):
    who, subs = _mine(request)
    subs = list(subs.order_by("position"))
    titles = dict(ThreadView.objects.filter(key__in={s.thread_key for s in subs}).values_list("key", "title"))
    account = signed_in(request)
    out = _json({"subscriptions": [_subscription_json(s, titles) for s in subs],
                 "signed_in": bool(account), "email": account[1] if account else None})
    who.set_cookies(out)
    return out


@router.delete("/subscriptions/{subscription_id}")
def end_subscription(request: HttpRequest, subscription_id: str):
    who, subs = _mine(request)
    sub = subs.filter(pk=subscription_id).first()
    if sub is None:
        raise ApiError(404, "subscription_not_found", f"no subscription {subscription_id!r} of yours")
    # decided again under the append lock: of two DELETEs at once, the second finds it ended (404)
    result = handle(EndSubscription(sub.id, "unsubscribed", open_only=True), who.author)
    return _json({"id": sub.id, "status": "ended", "position": result.position})


@router.post("/session/email", response={202: dict})
def sign_in_by_email(request: HttpRequest, payload: EmailIn):
    """Send a one-time sign-in link (15 minutes, single use) to the address; always 202."""
    who = identify(request)
    ratelimit.check("post", who.author.id, who.author.ip_hash)
    email = _email(payload.email)
    reader = reader_of(email)
    now = datetime.now(timezone.utc)
    store = get_store()
    recent = SignInToken.objects.filter(reader=reader, created_at__gt=now - timedelta(seconds=600)).count()
    if recent < SIGNIN_LINKS_PER_10_MINUTES:  # beyond that, asking again sends nothing (a mailbox is not a target)
        nonce = secrets.token_urlsafe(18)
        sealed = seal(reader, {"email": email}, using=store.using, key=person_key(reader, using=store.using))
        with own_write(store):
            SignInToken.objects.create(nonce=nonce, reader=reader, sealed_email=sealed, created_at=now)
            OutboxMessage.objects.create(key=f"signin:{nonce}", kind="signin", recipient=address_of(email),
                                         person=reader, sealed_to=sealed, ref=nonce, created_at=now, due_at=now)
        runner.wake()
    return _accepted({"status": "sign_in_link_sent"})


@router.get("/session/email")
def who_am_i(request: HttpRequest):
    """Who is signed in, and the name they last commented under (so a new device need not ask for it)."""
    account = signed_in(request)
    name = None
    if account:
        name = (CommentView.objects.filter(author_id__in=identities(account[0]), deleted=False)
                .order_by("-position").values_list("author_name", flat=True).first())
    return {"signed_in": bool(account), "email": account[1] if account else None,
            "reader": account[0] if account else None, "name": name}


@router.delete("/session/email")
def sign_out(request: HttpRequest):
    for name in (SESSION_READER, SESSION_EMAIL):
        request.session.pop(name, None)
    return {"signed_in": False}


api.add_router("/", router)


# --- pages ------------------------------------------------------------------------------------------------

def _page(request: HttpRequest, template: str, status: int = 200, **context) -> HttpResponse:
    return render(request, f"notifications/pages/{template}.html", {"site_url": settings.SITE_LINK_URL, **context},
                  status=status)


def _title(thread_key: str) -> str:
    return (ThreadView.objects.filter(pk=thread_key).values_list("title", flat=True).first()
            or NotifyThread.objects.filter(pk=thread_key).values_list("title", flat=True).first() or thread_key)


def _problem(request: HttpRequest, exc: BadToken | CommandError) -> HttpResponse:
    status = {"subscription_not_found": 404, "subscription_ended": 410}.get(exc.code, 400)
    return _page(request, "problem", status, message=exc.message, code=exc.code)


@require_http_methods(["GET"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription_id = open_confirm(token)
        handle(ConfirmSubscription(subscription_id), Actor("system:confirmation-link"))
    except (BadToken, CommandError) as exc:
        return _problem(request, exc)
    sub = Subscription.objects.get(pk=subscription_id)
    return _page(request, "confirmed", title=_title(sub.thread_key), thread_key=sub.thread_key, notify=sub.notify)


@csrf_exempt  # the signed token is the authority; RFC 8058 one-click POSTs come from mail clients, without a form
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        subscription_id = open_unsubscribe(token)
        sub = Subscription.objects.filter(pk=subscription_id).first()
        if sub is None:
            raise CommandError("subscription_not_found", "this subscription is unknown", 404)
        if request.method == "GET":
            return _page(request, "unsubscribe", title=_title(sub.thread_key), ended=sub.state == "ended")
        handle(EndSubscription(subscription_id, "unsubscribed"), Actor("system:unsubscribe-link"))
    except (BadToken, CommandError) as exc:
        return _problem(request, exc)
    return _page(request, "unsubscribed", title=_title(sub.thread_key), thread_key=sub.thread_key)


@require_http_methods(["GET"])
def sign_in(request: HttpRequest, token: str) -> HttpResponse:
    """Open a sign-in link: once, within 15 minutes. Links this browser's guest to the reader (GuestLinked)."""
    from events.people import KeyRing

    try:
        nonce = open_signin(token)
    except BadToken as exc:
        return _problem(request, exc)
    now = datetime.now(timezone.utc)
    row = SignInToken.objects.filter(pk=nonce).first()
    store = get_store()
    with own_write(store):
        used = row is not None and SignInToken.objects.filter(pk=nonce, used_at__isnull=True).update(used_at=now)
    if not used:
        return _problem(request, BadToken("link_used", "this sign-in link was used already; ask for a new one"))
    email = (KeyRing().unseal(row.reader, row.sealed_email) or {}).get("email", "")
    request.session.cycle_key()  # a new session id on sign-in (no fixation)
    request.session[SESSION_READER] = row.reader
    request.session[SESSION_EMAIL] = email
    guest = request.get_signed_cookie(AUTHOR_COOKIE, default="", salt=f"threadlog.{AUTHOR_COOKIE}")
    if guest:
        handle(LinkGuest(guest=f"guest:{guest}", reader=row.reader), Actor(row.reader))
    return _page(request, "signed_in", email=email)


