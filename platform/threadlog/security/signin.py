"""Sign-in throttling for every password or one-time-link endpoint: per account from one IP, per IP, and per
account from anywhere except known devices — so that guessing is slow and wrong guesses cannot lock staff out.

    from threadlog.security.signin import SignInThrottle, Throttled

    THROTTLE = SignInThrottle("session")          # one per endpoint; the scope names it in lock-out records

    def sign_in(request, response, username, password):
        THROTTLE.check(request, username)         # raises Throttled(retry_after) while this client is locked out
        user = authenticate(request, username=username, password=password)
        if user is None:
            THROTTLE.failed(request, username)    # counts; at a limit locks and records a LockOut
            return 401
        THROTTLE.succeeded(request, username, response)  # forgets this client's failures, sets the device cookie
        ...

    except Throttled as t: return t.response()   # 429 {error: {code: "too_many_attempts", ...}} + Retry-After

Why these counts (django-axes' "username + IP" lock-out, OWASP's "device cookies"): a lock on the account alone
lets anyone lock editors out of moderation with a few wrong guesses, forever repeated. So, within
SIGNIN_WINDOW_SECONDS:

- **account from one IP** (`pair`): SIGNIN_MAX_FAILURES failures lock that IP out of that account — the guesser
  at one address. Other addresses still sign in to the account, and the IP to other accounts.
- **IP** (`ip`): SIGNIN_IP_MAX_FAILURES failures from one IP, whatever the accounts, lock the IP out of every
  account — a guesser trying many accounts.
- **account** (`account`): SIGNIN_ACCOUNT_MAX_FAILURES failures on one account from anywhere (many IPs: a
  botnet) lock the account for every client that has not signed in to it before.
- A client that has signed in to the account before carries a **device cookie** for it (signed, HttpOnly, set on
  every good sign-in, DEVICE_COOKIE_DAYS; it names a hash of the account and a random device id, so one browser
  holds up to DEVICE_COOKIE_ACCOUNTS accounts). With it, the three locks above do not apply to it — nobody can
  get one for an account without its password, so they only ever stop guessers — and its own failures are counted
  per device (`device`): SIGNIN_MAX_FAILURES lock that device out of the account (a stolen laptop or cookie
  gets no more guesses than one address).

A lock lasts SIGNIN_LOCKOUT_SECONDS, answers 429 whatever the password (a guesser learns nothing from it), writes
a `LockOut` row (staff see them in the admin) and logs a warning. A good sign-in forgets the failures of its
account from its IP and of its device, never the IP's or the account-wide ones (a botnet's tally must not restart
whenever the editor signs in). Counts live in threadlog.security.windows (Redis with REDIS_URL: shared by every
node; else this process). `/admin/login/` is throttled by AdminLoginThrottleMiddleware (scope "admin").
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from threadlog.ops import metrics

from .windows import windows

log = logging.getLogger("threadlog.security")

DEVICE_COOKIE = "tl_device"
DEVICE_COOKIE_DAYS = 180  # a device stays known this long after its last good sign-in
DEVICE_COOKIE_ACCOUNTS = 5  # accounts one browser is remembered for (the most recent)
_DEVICE_SALT = "threadlog.security.device"


class Throttled(Exception):
    """Raised by SignInThrottle.check while this client is locked out (`kind`: pair, ip, account or device)."""

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
    pair_failures: int  # one account from one IP, and one known device (SIGNIN_MAX_FAILURES)
    ip_failures: int  # one IP, any accounts (SIGNIN_IP_MAX_FAILURES)
    account_failures: int  # one account from anywhere, clients without its device cookie (SIGNIN_ACCOUNT_MAX_FAILURES)
    window_seconds: int
    lockout_seconds: int

    @classmethod
    def from_settings(cls) -> "Limits":
        conf = settings.THREADLOG_SECURITY
        return cls(conf["SIGNIN_MAX_FAILURES"], conf["SIGNIN_IP_MAX_FAILURES"], conf["SIGNIN_ACCOUNT_MAX_FAILURES"],
                   conf["SIGNIN_WINDOW_SECONDS"], conf["SIGNIN_LOCKOUT_SECONDS"])


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join((settings.SECRET_KEY, *parts)).encode()).hexdigest()[:32]


def _normal(account: str) -> str:
    return account.strip().lower()


# --- the device cookie: "<account hash>.<device id>" entries joined by "~" (no character a cookie must quote), most
# recent first, signed with a timestamp (Django's signed cookies) ------------------------------------------------


def _device_entries(request: HttpRequest) -> list[tuple[str, str]]:
    """The (account hash, device id) pairs of the request's device cookie; none if it is missing, forged or old."""
    raw = request.COOKIES.get(DEVICE_COOKIE)
    if not raw:
        return []
    value = request.get_signed_cookie(DEVICE_COOKIE, default="", salt=_DEVICE_SALT,
                                      max_age=timedelta(days=DEVICE_COOKIE_DAYS))
    entries = []
    for item in value.split("~")[:DEVICE_COOKIE_ACCOUNTS]:
        account, _, device = item.partition(".")
        if account and device:
            entries.append((account, device))
    return entries


def known_device(request: HttpRequest, account: str) -> str | None:
    """The device id this client was given when it signed in to `account`, if its cookie says so (else None)."""
    mine = _digest("device-account", _normal(account))
    return next((device for hashed, device in _device_entries(request) if hashed == mine), None)


def remember_device(request: HttpRequest, account: str, response: HttpResponse) -> None:
    """Set (or refresh) the device cookie after a good sign-in to `account`: its device id is kept, it moves first."""
    mine = _digest("device-account", _normal(account))
    entries = _device_entries(request)
    device = next((d for hashed, d in entries if hashed == mine), None) or secrets.token_hex(8)
    kept = [(mine, device)] + [(a, d) for a, d in entries if a != mine]
    value = "~".join(f"{a}.{d}" for a, d in kept[:DEVICE_COOKIE_ACCOUNTS])
    response.set_signed_cookie(DEVICE_COOKIE, value, salt=_DEVICE_SALT, max_age=DEVICE_COOKIE_DAYS * 86400,
                               httponly=True, secure=settings.SESSION_COOKIE_SECURE,
                               samesite=settings.SESSION_COOKIE_SAMESITE)


class SignInThrottle:
    """Failed sign-ins of one endpoint (`scope`), counted per account from one IP, per IP, per account and per
    known device (the module's docstring)."""

    def __init__(self, scope: str, limits: Limits | None = None):
        self.scope = scope
        self._limits = limits

    @property
    def limits(self) -> Limits:
        return self._limits or Limits.from_settings()

    def _key(self, kind: str, *parts: str) -> str:
        return f"signin:{self.scope}:{kind}:{_digest(kind, *parts)}"

    def _counts(self, request: HttpRequest, account: str) -> list[tuple[str, str, int]]:
        """(window key, kind, limit) of every count that applies to this client's sign-in to `account`: its device's
        alone for a known device, else the account from this IP, the IP and the account."""
        from threadlog.api.identity import client_ip

        limits, name = self.limits, _normal(account)
        device = known_device(request, account)
        if device is not None:
            return [(self._key("device", name, device), "device", limits.pair_failures)]
        ip = client_ip(request)
        return [(self._key("pair", name, ip), "pair", limits.pair_failures),
                (self._key("ip", ip), "ip", limits.ip_failures),
                (self._key("account", name), "account", limits.account_failures)]

    def check(self, request: HttpRequest, account: str) -> None:
        """Raise Throttled if this client is locked out of `account`; call before checking the secret."""
        if not settings.THREADLOG_SECURITY["SIGNIN_THROTTLE"]:
            return
        counter = windows()
        for key, kind, _ in self._counts(request, account):
            left = counter.locked(key)
            if left > 0:
                metrics.rate_limited(f"signin-{self.scope}")
                raise Throttled(left, self.scope, kind)

    def failed(self, request: HttpRequest, account: str) -> None:
        """A wrong password or token for `account`: count it; at a limit, lock out and record it."""
        if not settings.THREADLOG_SECURITY["SIGNIN_THROTTLE"]:
            return
        limits = self.limits
        counter = windows()
        for key, kind, limit in self._counts(request, account):
            count, _ = counter.add(key, limits.window_seconds)
            if count >= limit and not counter.locked(key):
                counter.lock(key, limits.lockout_seconds)
                counter.clear(key, limits.window_seconds)
                self._record(request, "" if kind == "ip" else account, kind, count, limits.lockout_seconds)

    def succeeded(self, request: HttpRequest, account: str, response: HttpResponse) -> None:
        """A good sign-in: this client's failures on `account` (from its IP, or of its device) are forgotten, the
        IP's and the account-wide ones are not; `response` carries the device cookie for `account`."""
        from threadlog.api.identity import client_ip

        if settings.THREADLOG_SECURITY["SIGNIN_THROTTLE"]:
            counter, seconds, name = windows(), self.limits.window_seconds, _normal(account)
            counter.clear(self._key("pair", name, client_ip(request)), seconds)
            device = known_device(request, account)
            if device is not None:
                counter.clear(self._key("device", name, device), seconds)
        remember_device(request, account, response)

    def _record(self, request: HttpRequest, account: str, kind: str, failures: int, seconds: int) -> None:
        from threadlog.api.identity import ip_hash

        from .models import LockOut

        hashed = ip_hash(request)
        who = {"ip": f"IP {hashed}", "pair": f"account {account!r} from IP {hashed}",
               "device": f"account {account!r} on a known device"}.get(kind, f"account {account!r}")
        log.warning("sign-in lock-out (%s, %s): %s after %d failures, for %d s", self.scope, kind, who, failures,
                    seconds, extra={"scope": self.scope, "kind": kind, "ip_hash": hashed})
        try:
            LockOut.objects.create(scope=self.scope, kind=kind, account=account[:254], ip_hash=hashed,
                                   failures=failures, until=timezone.now() + timedelta(seconds=seconds))
        except Exception:  # the lock itself is in place; the record is for staff and must not fail the request
            log.warning("could not record the lock-out in the database", exc_info=True)


ADMIN = SignInThrottle("admin")


class AdminLoginThrottleMiddleware:
    """`POST /admin/login/`: refused with 429 while this client is locked out of the typed username; a form shown
    again (wrong password: 200) counts as a failure, a sign-in (the user is authenticated afterwards) as a success,
    which also sets the device cookie."""

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
            ADMIN.succeeded(request, account, response)
        elif response.status_code == 200:
            ADMIN.failed(request, account)
        return response
