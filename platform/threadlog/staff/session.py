"""`/api/session`: staff sign in with their Django username and password (a session cookie), see who they are,
sign out. A router of its own so other sign-in routes (e-mail) can sit next to it under /api/session/. Failed
sign-ins are throttled by the shared sign-in throttle (scope "session"): per account from one IP, per IP, and per
account from anywhere except devices that signed in to it before (the device cookie a good sign-in sets)."""
from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import Field, StrictStr

from threadlog.api.cors import error_response
from threadlog.api.schemas import _Strict
from threadlog.security.signin import SignInThrottle, Throttled

router = Router(tags=["session"])
THROTTLE = SignInThrottle("session")  # failed sign-ins (threadlog.security.signin)


class SessionIn(_Strict):
    username: StrictStr = Field(min_length=1, max_length=150)
    password: StrictStr = Field(min_length=1, max_length=4096)


def user_json(user) -> dict | None:
    if user is None or not user.is_authenticated:
        return None
    return {"name": user.get_username(), "staff": bool(user.is_staff)}


@router.post("")
def sign_in(request: HttpRequest, payload: SessionIn, response: HttpResponse):
    try:
        THROTTLE.check(request, payload.username)
    except Throttled as throttled:
        return throttled.response()  # 429 too_many_attempts, Retry-After
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        THROTTLE.failed(request, payload.username)
        return error_response(401, "invalid_credentials", "wrong username or password")
    THROTTLE.succeeded(request, payload.username, response)  # and the device cookie for this account
    login(request, user)
    return {"user": user_json(user)}


@router.get("")
def who(request: HttpRequest):
    return {"user": user_json(getattr(request, "user", None))}


@router.delete("")
def sign_out(request: HttpRequest):
    logout(request)
    return {"user": None}
