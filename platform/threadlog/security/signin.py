"""Sign-in throttling for every password or one-time-link endpoint, per account and per IP.

    from threadlog.security.signin import SignInThrottle, Throttled

    THROTTLE = SignInThrottle("session")          # one per endpoint; the scope names it in lock-out records

    def sign_in(request, username, password):
        THROTTLE.check(request, username)         # raises Throttled(retry_after) while account or IP is locked
        user = authenticate(request, username=username, password=password)
        if user is None:
            THROTTLE.failed(request, username)    # counts; at the limit locks and records a LockOut
            return 401
        THROTTLE.succeeded(request, username)     # forgets the account's failures
        ...

    except Throttled as t: return t.response()   # 429 {error: {code: "too_many_attempts", ...}} + Retry-After

Counts live in threadlog.security.windows (Redis with REDIS_URL: shared by every node; else this process).
After SIGNIN_MAX_FAILURES failures for one account (or SIGNIN_IP_MAX_FAILURES from one IP) within
SIGNIN_WINDOW_SECONDS, that account (or IP) is refused for SIGNIN_LOCKOUT_SECONDS, a `LockOut` row is written
(staff see them in the admin) and a warning is logged. A locked account answers 429 whatever the password, so a
guesser learns nothing from it. `/admin/login/` is throttled by AdminLoginThrottleMiddleware (scope "admin").
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from threadlog.ops import metrics

from .windows import windows

log = logging.getLogger("threadlog.security")


class Throttled(Exception):
    """Raised by SignInThrottle.check while the account or the IP is locked out."""

    def __init__(self, retry_after: float, scope: str, kind: str):
        super().__init__(f"too many failed sign-ins ({kind})")
        self.retry_after = max(1, int(retry_after + 0.999))
        self.scope, self.kind = scope, kind

    def response(self) -> JsonResponse:
        """429 with Retry-After and the API's error shape."""
        response = JsonResponse({"error": {"code": "too_many_attempts", "message": "too many failed sign-ins; "
                                           f"try again in {self.retry_after} s", "retry_after": self.retry_after}},
                                status=429)
        response["Retry-After"] = str(self.retry_after)
        return response


@dataclass(frozen=True)
class Limits:
    account_failures: int
    ip_failures: int
    window_seconds: int
    lockout_seconds: int

    @classmethod
    def from_settings(cls) -> "Limits":
        conf = settings.THREADLOG_SECURITY
        return cls(conf["SIGNIN_MAX_FAILURES"], conf["SIGNIN_IP_MAX_FAILURES"], conf["SIGNIN_WINDOW_SECONDS"],
                   conf["SIGNIN_LOCKOUT_SECONDS"])


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join((settings.SECRET_KEY, *parts)).encode()).hexdigest()[:32]


class SignInThrottle:
    """Failed sign-ins counted per account and per IP for one endpoint (`scope`)."""

    def __init__(self, scope: str, limits: Limits | None = None):
        self.scope = scope
        self._limits = limits

    @property
    def limits(self) -> Limits:
        return self._limits or Limits.from_settings()

    def _keys(self, request: HttpRequest, account: str) -> tuple[str, str]:
        from threadlog.api.identity import client_ip

        return (f"signin:{self.scope}:a:{_digest('account', account.strip().lower())}",
                f"signin:{self.scope}:ip:{_digest('ip', client_ip(request))}")

    def check(self, request: HttpRequest, account: str) -> None:
        """Raise Throttled if the account or the request's IP is locked out; call before checking the secret."""
        if not settings.THREADLOG_SECURITY["SIGNIN_THROTTLE"]:
            return
        account_key, ip_key = self._keys(request, account)
        counter = windows()
        for key, kind in ((account_key, "account"), (ip_key, "ip")):
            left = counter.locked(key)
            if left > 0:
                metrics.rate_limited(f"signin-{self.scope}")
                raise Throttled(left, self.scope, kind)

    def failed(self, request: HttpRequest, account: str) -> None:
        """A wrong password or token for `account`: count it; at a limit, lock out and record it."""
        if not settings.THREADLOG_SECURITY["SIGNIN_THROTTLE"]:
            return
        limits = self.limits
        account_key, ip_key = self._keys(request, account)
        counter = windows()
        for key, kind, limit in ((account_key, "account", limits.account_failures),
                                 (ip_key, "ip", limits.ip_failures)):
            count, _ = counter.add(key, limits.window_seconds)
            if count >= limit and not counter.locked(key):
                counter.lock(key, limits.lockout_seconds)
                counter.clear(key, limits.window_seconds)
                self._record(request, account if kind == "account" else "", kind, count, limits.lockout_seconds)

    def succeeded(self, request: HttpRequest, account: str) -> None:
        """A good sign-in: the account's earlier failures are forgotten (the IP's are not)."""
        if settings.THREADLOG_SECURITY["SIGNIN_THROTTLE"]:
            windows().clear(self._keys(request, account)[0], self.limits.window_seconds)

    def _record(self, request: HttpRequest, account: str, kind: str, failures: int, seconds: int) -> None:
        from threadlog.api.identity import ip_hash

        from .models import LockOut

        hashed = ip_hash(request)
        log.warning("sign-in lock-out (%s): %s after %d failures, for %d s", self.scope,
                    f"account {account!r}" if kind == "account" else f"IP {hashed}", failures, seconds,
                    extra={"scope": self.scope, "kind": kind, "ip_hash": hashed})
        try:
            LockOut.objects.create(scope=self.scope, kind=kind, account=account[:254], ip_hash=hashed,
                                   failures=failures, until=timezone.now() + timedelta(seconds=seconds))
        except Exception:  # the lock itself is in place; the record is for staff and must not fail the request
            log.warning("could not record the lock-out in the database", exc_info=True)


ADMIN = SignInThrottle("admin")


class AdminLoginThrottleMiddleware:
    """`POST /admin/login/`: refused with 429 while the typed username or the IP is locked out; a form shown again
    (wrong password: 200) counts as a failure, a sign-in (the user is authenticated afterwards) as a success."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path != settings.LOGIN_URL:
            return self.get_response(request)
        account = request.POST.get("username", "")
        try:
            ADMIN.check(request, account)
        except Throttled as throttled:
            response = HttpResponse(f"Too many failed sign-ins. Try again in {throttled.retry_after} seconds.\n",
                                    status=429, content_type="text/plain; charset=utf-8")
            response["Retry-After"] = str(throttled.retry_after)
            return response
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ADMIN.succeeded(request, account)
        elif response.status_code == 200:
            ADMIN.failed(request, account)
        return response
