"""Sign-in throttling on /admin/login/ through a real daphne: per account and per IP, 429 with Retry-After
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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("signin"), env={
        "TRUSTED_PROXIES": f"{PROXY}/32", "SECRET_KEY": secrets.token_urlsafe(40),
        "SIGNIN_MAX_FAILURES": "3", "SIGNIN_IP_MAX_FAILURES": "6", "SIGNIN_LOCKOUT_SECONDS": "600",
    })
    _superuser(server, "editor", "right-password-1")
    _superuser(server, "auditor", "right-password-2")
    server.start()
    yield server
    server.stop()


def from_ip(site: Server, ip: str) -> tuple[Http, dict[str, str]]:
    """A browser at `ip`, behind the trusted proxy."""
    return Http(site.url, source=PROXY), {"X-Forwarded-For": ip}


def test_an_account_is_locked_after_its_failures_and_staff_see_the_record(site):
    client, ip = from_ip(site, "198.51.100.10")
    for _ in range(3):
        answer = sign_in(client, "editor", "wrong")
        assert answer.status == 200  # the form again, with its error
    locked = sign_in(client, "editor", "right-password-1")  # even the right password now
    assert locked.status == 429
    assert 500 < int(locked.header("Retry-After")) <= 600
    # from another IP too: the account is locked, not the address
    other, ip2 = from_ip(site, "198.51.100.11")
    assert sign_in(other, "editor", "right-password-1", **ip2).status == 429
    # the other staff member signs in and finds the record in the admin
    auditor, ip3 = from_ip(site, "198.51.100.12")
    signed_in = sign_in(auditor, "auditor", "right-password-2", **ip3)
    assert signed_in.status == 302, signed_in.body[:300]
    listing = auditor.get("/admin/threadlog_security/lockout/", headers=ip3)
    assert listing.status == 200
    assert b"editor" in listing.body and b"admin" in listing.body


def test_an_ip_is_locked_after_failures_across_accounts(site):
    client, ip = from_ip(site, "198.51.100.20")
    statuses = [sign_in(client, f"nobody{i}", "guess", **ip).status for i in range(6)]
    assert statuses == [200] * 6
    answer = sign_in(client, "auditor", "right-password-2", **ip)
    assert answer.status == 429 and answer.header("Retry-After")
    # another address is not affected
    other, ip2 = from_ip(site, "198.51.100.21")
    assert sign_in(other, "auditor", "right-password-2", **ip2).status == 302


def test_a_good_sign_in_forgets_the_accounts_failures(site):
    _superuser(site, "writer", "right-password-3")
    client, ip = from_ip(site, "198.51.100.30")
    for _ in range(2):
        assert sign_in(client, "writer", "wrong", **ip).status == 200
    assert sign_in(client, "writer", "right-password-3", **ip).status == 302
    fresh, ip2 = from_ip(site, "198.51.100.31")
    for _ in range(2):  # two more failures: not locked, the earlier two were forgotten
        assert sign_in(fresh, "writer", "wrong", **ip2).status == 200
    assert sign_in(fresh, "writer", "right-password-3", **ip2).status == 302


def test_the_throttle_module_for_other_sign_in_endpoints(live_db, settings):
    """The API other endpoints (POST /api/session, /api/session/email) call: check → failed → Throttled, with a
    429 JSON answer and Retry-After; a success forgets the account's failures; each scope counts apart."""
    from django.test import RequestFactory

    from threadlog.security.models import LockOut
    from threadlog.security.signin import Limits, SignInThrottle, Throttled

    settings.REDIS_URL = ""  # this process's windows
    request = RequestFactory().post("/api/session", REMOTE_ADDR=f"192.0.2.{secrets.randbelow(250) + 1}")
    account = f"someone-{secrets.token_hex(4)}@example.org"
    throttle = SignInThrottle("session", Limits(account_failures=2, ip_failures=50, window_seconds=60,
                                                lockout_seconds=120))
    throttle.check(request, account)
    throttle.failed(request, account)
    throttle.succeeded(request, account)  # forgets the first failure
    throttle.failed(request, account)
    throttle.check(request, account)  # one failure since: not locked
    throttle.failed(request, account)
    with pytest.raises(Throttled) as locked:
        throttle.check(request, account.upper())  # the account, however it is typed
    response = locked.value.response()
    assert response.status_code == 429 and 110 < int(response["Retry-After"]) <= 120
    assert json.loads(response.content)["error"]["code"] == "too_many_attempts"
    SignInThrottle("session-email").check(request, account)  # another endpoint counts apart
    record = LockOut.objects.get(scope="session", account=account)
    assert record.kind == "account" and record.failures == 2
