"""Who is asking: the signed-in user, or a guest known by signed cookies (a voter id and an author token)."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from threadlog.commands import Actor
from threadlog.notifications.readers import session_reader

VOTER_COOKIE = "tl_voter"
AUTHOR_COOKIE = "tl_author"
_MAX_AGE = 60 * 60 * 24 * 365 * 2


@dataclass
class Identity:
    voter: Actor
    author: Actor
    is_staff: bool = False
    new_cookies: dict[str, str] = field(default_factory=dict)
    secure: bool = False

    def set_cookies(self, response: HttpResponse) -> None:
        # Over HTTPS the cookies are SameSite=None; Secure, so the widget embedded on another site (a
        # cross-site fetch) keeps its guest identity; over plain HTTP browsers only accept Lax.
        samesite = "None" if self.secure else "Lax"
        for name, value in self.new_cookies.items():
            response.set_signed_cookie(name, value, salt=f"threadlog.{name}", max_age=_MAX_AGE,
                                       httponly=True, samesite=samesite, secure=self.secure)


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def ip_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{client_ip(request)}".encode()).hexdigest()
    return digest[:16]


_VALID_COOKIES: dict[tuple[str, str], str] = {}
_VALID_COOKIES_MAX = 4096


def _unsigned(name: str, signed: str) -> str:
    """A signed cookie's value, or "" if its signature is wrong. A pure function of the text (no max_age): a
    returning reader's cookie is checked once per process, not on every request (two HMACs a request). Only
    valid cookies are remembered, so forged ones cannot crowd them out."""
    value = _VALID_COOKIES.get((name, signed))
    if value is None:
        probe = HttpRequest()  # Django's own check (salted, versioned), on this cookie alone
        probe.COOKIES = {name: signed}
        value = probe.get_signed_cookie(name, default="", salt=f"threadlog.{name}")
        if value:
            if len(_VALID_COOKIES) >= _VALID_COOKIES_MAX:
                _VALID_COOKIES.clear()
            _VALID_COOKIES[(name, signed)] = value
    return value


def _cookie(request: HttpRequest, name: str, new: dict[str, str]) -> str:
    signed = request.COOKIES.get(name)
    value = _unsigned(name, signed) if signed else ""
    if not value:
        value = secrets.token_urlsafe(12)
        new[name] = value
    return value


def identify(request: HttpRequest) -> Identity:
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    ip = ip_hash(request)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        actor = Actor(f"user:{user.pk}", is_staff=bool(user.is_staff), request_id=request_id, ip_hash=ip)
        return Identity(voter=actor, author=actor, is_staff=actor.is_staff)
    new: dict[str, str] = {}
    voter = Actor(f"guest:{_cookie(request, VOTER_COOKIE, new)}", request_id=request_id, ip_hash=ip)
    reader = session_reader(request)  # signed in by e-mail: comments are the reader's, on every device
    author = Actor(reader or f"guest:{_cookie(request, AUTHOR_COOKIE, new)}", request_id=request_id, ip_hash=ip)
    return Identity(voter=voter, author=author, new_cookies=new, secure=request.is_secure())
