"""Sign-in throttling on /admin/login/ and POST /api/session through a real daphne: wrong passwords lock out the
guesser's address on that account (and an address trying many accounts), guessing from many addresses locks the
account for every browser but those that signed in to it before (their device cookie); 429 with Retry-After
(whatever the password), and a lock-out record staff can read in the admin."""
from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys

import pytest

from tests.conftest import ROOT, Server

from .conftest import PROXY
from .http import Http

LOGIN = "/admin/login/"
LOCKOUTS = "/admin/threadlog_security/lockout/"


def _superuser(server: Server, name: str, password: str) -> None:
    env = {**server.env, "DJANGO_SUPERUSER_PASSWORD": password}
    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", name,
                    "--email", f"{name}@example.com"], cwd=ROOT, env=env, check=True, capture_output=True)


def sign_in(client: Http, name: str, password: str, **headers: str):
    page = client.get(LOGIN, headers=headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    if token is None:  # the form itself is refused (a locked IP) or missing
        return page
    return client.request("POST", LOGIN, headers=headers, form={
        "csrfmiddlewaretoken": token.group(1).decode(), "username": name, "password": password,
        "next": "/admin/"})


def session(client: Http, name: str, password: str, **headers: str):
    """POST /api/session: 200 signed in, 401 wrong password, 429 locked out."""
    return client.post("/api/session", {"username": name, "password": password}, headers=headers)


def signed_out(client: Http) -> Http:
    """The same browser after signing out: its session is gone, its other cookies (the device cookie) stay."""
    client.cookies.pop("sessionid", None)
    return client


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("signin"), env={
        "TRUSTED_PROXIES": f"{PROXY}/32", "SECRET_KEY": secrets.token_urlsafe(40),
        "SIGNIN_MAX_FAILURES": "3", "SIGNIN_IP_MAX_FAILURES": "6", "SIGNIN_ACCOUNT_MAX_FAILURES": "8",
        "SIGNIN_LOCKOUT_SECONDS": "600",
    })
    for name, password in (("editor", "right-password-1"), ("auditor", "right-password-2"),
                           ("writer", "right-password-3"), ("target", "right-password-4"),
                           ("keeper", "right-password-5"), ("other", "right-password-6"),
                           ("moderator", "right-password-7")):
        _superuser(server, name, password)
    server.start()
    yield server
    server.stop()


def from_ip(site: Server, ip: str) -> tuple[Http, dict[str, str]]:
    """A new browser (no cookies) at `ip`, behind the trusted proxy."""
    return Http(site.url, source=PROXY), {"X-Forwarded-For": ip}


def test_wrong_passwords_from_one_address_lock_that_address_only(site):
    guesser, ip = from_ip(site, "198.51.100.10")
    for _ in range(3):
        answer = sign_in(guesser, "editor", "wrong", **ip)
        assert answer.status == 200  # the form again, with its error
    locked = sign_in(guesser, "editor", "right-password-1", **ip)  # even the right password now, from there
    assert locked.status == 429
    assert 500 < int(locked.header("Retry-After")) <= 600
    # the editor, at their own address, is not locked out: the guesser's wrong passwords were not a denial of service
    editor, ip2 = from_ip(site, "198.51.100.11")
    assert sign_in(editor, "editor", "right-password-1", **ip2).status == 302
    # a good sign-in elsewhere does not unlock the guesser's address, which may still try other accounts
    assert sign_in(from_ip(site, "198.51.100.10")[0], "editor", "right-password-1", **ip).status == 429
    auditor = from_ip(site, "198.51.100.10")[0]
    assert sign_in(auditor, "auditor", "right-password-2", **ip).status == 302
    # staff find the record in the admin: the account, locked from one address
    listing = auditor.get(LOCKOUTS, headers=ip)
    assert listing.status == 200
    assert b"editor" in listing.body and b"account from one IP" in listing.body and b"admin" in listing.body


def test_the_session_endpoint_locks_the_address_not_the_account(site):
    guesser, ip = from_ip(site, "198.51.100.15")
    for _ in range(3):
        assert session(guesser, "moderator", "wrong", **ip).status == 401
    locked = session(guesser, "moderator", "right-password-7", **ip)
    assert locked.status == 429 and locked.json()["error"]["code"] == "too_many_attempts"
    assert 500 < int(locked.header("Retry-After")) <= 600
    moderator, ip2 = from_ip(site, "198.51.100.16")
    answer = session(moderator, "moderator", "right-password-7", **ip2)
    assert answer.status == 200 and answer.json()["user"] == {"name": "moderator", "staff": True}


def test_an_ip_is_locked_after_failures_across_accounts(site):
    client, ip = from_ip(site, "198.51.100.20")
    statuses = [sign_in(client, f"nobody{i}", "guess", **ip).status for i in range(6)]
    assert statuses == [200] * 6
    answer = sign_in(client, "auditor", "right-password-2", **ip)
    assert answer.status == 429 and answer.header("Retry-After")
    # another address is not affected
    other, ip2 = from_ip(site, "198.51.100.21")
    assert sign_in(other, "auditor", "right-password-2", **ip2).status == 302


def test_a_good_sign_in_forgets_the_failures_of_its_address(site):
    ip = from_ip(site, "198.51.100.30")[1]
    client = from_ip(site, "198.51.100.30")[0]
    for _ in range(2):
        assert sign_in(client, "writer", "wrong", **ip).status == 200
    assert sign_in(client, "writer", "right-password-3", **ip).status == 302
    fresh = from_ip(site, "198.51.100.30")[0]  # another browser at that address: no device cookie
    for _ in range(2):  # two more failures: not locked, the earlier two were forgotten
        assert sign_in(fresh, "writer", "wrong", **ip).status == 200
    assert sign_in(fresh, "writer", "right-password-3", **ip).status == 302


def test_guessing_from_many_addresses_locks_the_account_but_not_a_known_device(site):
    laptop, home = from_ip(site, "198.51.100.40")
    signed_in = sign_in(laptop, "target", "right-password-4", **home)
    assert signed_in.status == 302
    device = signed_in.cookies()["tl_device"]  # signed, for scripts neither to read nor to send elsewhere
    assert "HttpOnly" in device and "SameSite=Lax" in device and "Max-Age=15552000" in device
    signed_out(laptop)
    # a botnet: one wrong password from each of 8 addresses (SIGNIN_ACCOUNT_MAX_FAILURES), none locked on its own
    for i in range(8):
        bot, ip = from_ip(site, f"203.0.113.{i + 1}")
        assert sign_in(bot, "target", "wrong", **ip).status == 200
    newcomer, ip = from_ip(site, "198.51.100.41")  # a browser that never signed in to the account
    locked = sign_in(newcomer, "target", "right-password-4", **ip)
    assert locked.status == 429 and 500 < int(locked.header("Retry-After")) <= 600
    # the laptop, even from another address (a train's wifi), signs in: it signed in to this account before
    train = {"X-Forwarded-For": "198.51.100.42"}
    assert sign_in(laptop, "target", "right-password-4", **train).status == 302
    listing = laptop.get(LOCKOUTS, headers=train)
    assert b"target" in listing.body and b"account (unknown devices)" in listing.body


def test_a_known_device_has_its_own_count_and_a_cookie_for_another_account_or_a_forged_one_does_not_help(site):
    laptop, ip = from_ip(site, "198.51.100.50")
    assert sign_in(laptop, "keeper", "right-password-5", **ip).status == 302
    signed_out(laptop)
    # the account is locked for browsers it does not know (guessing from many addresses)
    for i in range(8):
        bot, bot_ip = from_ip(site, f"203.0.113.{i + 101}")
        assert session(bot, "other", "wrong", **bot_ip).status == 401
    stranger, ip2 = from_ip(site, "198.51.100.51")
    assert session(stranger, "other", "right-password-6", **ip2).status == 429
    # a device cookie of another account does not open it, nor does a forged one
    assert session(laptop, "other", "right-password-6", **ip).status == 429
    forged, _ = from_ip(site, "198.51.100.52")
    account, _, rest = laptop.cookies["tl_device"].partition(".")
    forged.cookies["tl_device"] = f"{account[::-1]}.{rest}"  # the signature no longer matches
    assert session(forged, "other", "right-password-6", **ip2).status == 429
    # a known device that guesses wrong is counted on its own: SIGNIN_MAX_FAILURES lock that device out
    for _ in range(3):
        assert sign_in(laptop, "keeper", "wrong", **ip).status == 200
    locked = sign_in(laptop, "keeper", "right-password-5", **ip)
    assert locked.status == 429
    # ... and nothing else: its address is not locked for the account
    assert sign_in(from_ip(site, "198.51.100.50")[0], "keeper", "right-password-5", **ip).status == 302


def test_the_throttle_module_for_other_sign_in_endpoints(live_db, settings):
    """The API other endpoints (POST /api/session, /api/session/email) call: check → failed → Throttled, with a
    429 JSON answer and Retry-After; a success forgets the failures of its address and sets the device cookie;
    each scope counts apart."""
    from django.http import HttpResponse
    from django.test import RequestFactory

    from threadlog.security.models import LockOut
    from threadlog.security.signin import DEVICE_COOKIE, Limits, SignInThrottle, Throttled, known_device

    settings.REDIS_URL = ""  # this process's windows
    address = f"192.0.2.{secrets.randbelow(250) + 1}"
    request = RequestFactory().post("/api/session", REMOTE_ADDR=address)
    account = f"someone-{secrets.token_hex(4)}@example.org"
    throttle = SignInThrottle("session", Limits(pair_failures=2, ip_failures=50, account_failures=4,
                                                window_seconds=60, lockout_seconds=120))
    throttle.check(request, account)
    throttle.failed(request, account)
    response = HttpResponse()
    throttle.succeeded(request, account, response)  # forgets the first failure
    device = response.cookies[DEVICE_COOKIE]
    assert device["httponly"] and device["max-age"] == 180 * 86400
    throttle.failed(request, account)
    throttle.check(request, account)  # one failure since: not locked
    throttle.failed(request, account)
    with pytest.raises(Throttled) as locked:
        throttle.check(request, account.upper())  # the account, however it is typed
    assert locked.value.kind == "pair"
    response = locked.value.response()
    assert response.status_code == 429 and 110 < int(response["Retry-After"]) <= 120
    assert json.loads(response.content)["error"]["code"] == "too_many_attempts"
    elsewhere = RequestFactory().post("/api/session", REMOTE_ADDR=f"198.18.0.{secrets.randbelow(250) + 1}")
    throttle.check(elsewhere, account)  # another address: not locked
    SignInThrottle("session-email").check(request, account)  # another endpoint counts apart
    record = LockOut.objects.get(scope="session", account=account)
    assert record.kind == "pair" and record.failures == 2
    # the account from anywhere: 4 failures (two above, two from elsewhere) lock unknown browsers out ...
    throttle.failed(elsewhere, account)
    throttle.failed(elsewhere, account)
    with pytest.raises(Throttled) as locked:
        throttle.check(RequestFactory().post("/api/session", REMOTE_ADDR="198.18.1.1"), account)
    assert locked.value.kind == "account"
    # ... but not the one that signed in before (its device cookie), from any address
    known = RequestFactory().post("/api/session", REMOTE_ADDR="198.18.1.2")
    known.COOKIES[DEVICE_COOKIE] = device.value
    assert known_device(known, account) and known_device(known, "someone-else") is None
    throttle.check(known, account)
    assert set(LockOut.objects.filter(account=account).values_list("kind", flat=True)) == {"pair", "account"}
