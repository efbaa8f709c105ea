"""A real server for the conformance checkers: the demo thread, a staff account, and an HTTP session of each."""
from __future__ import annotations

import http.cookiejar
import json
import urllib.request

import pytest

from tests.conftest import Server

STAFF = {"username": "conformance", "password": "conformance pass 19"}


@pytest.fixture(scope="module")
def api_site(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("conformance-site"), demo=True, env={
        "DJANGO_SUPERUSER_USERNAME": STAFF["username"], "DJANGO_SUPERUSER_PASSWORD": STAFF["password"],
        "DJANGO_SUPERUSER_EMAIL": "conformance@example.org", "ACCESS_LOG": "0"})
    server.cli("createsuperuser", "--noinput")
    server.start()
    yield server
    server.stop()


def staff_cookie(server: Server) -> str:
    """`Cookie:` header value of a staff session signed in through POST /api/session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    request = urllib.request.Request(server.url + "/api/session", method="POST", data=json.dumps(STAFF).encode(),
                                     headers={"Content-Type": "application/json", "Origin": server.url})
    with opener.open(request, timeout=10) as response:
        assert json.loads(response.read())["user"]["staff"]
    return "; ".join(f"{c.name}={c.value}" for c in jar)
