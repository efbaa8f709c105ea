"""The HTTP defences of issue 21, through a real daphne: host validation on every path (the API's chain
included), X-Forwarded-* believed from trusted proxies only, HEAD like GET, Content-Security-Policy headers,
and secure cookies / HSTS / redirect switched on by an https SITE_URL."""
from __future__ import annotations

import re
import secrets

import pytest

from tests.conftest import Server, unique_key

from .conftest import PROXY
from .http import Http

PATHS = ["/", "/t/some-thread", "/api/threads/demo", "/api/threads/demo/comments", "/api/events?after=0",
         "/embed.js", "/static/threadlog/comments.js", "/healthz", "/readyz", "/metrics", "/admin/login/",
         "/audit/", "/csp-report"]


@pytest.mark.parametrize("path", PATHS)
def test_a_foreign_host_is_refused_on_every_path(proxied_site, path):
    answer = Http(proxied_site.url).get(path, headers={"Host": "evil.example"})
    assert answer.status == 400, (path, answer.status, answer.body[:200])
    if path.startswith("/api/"):
        assert answer.json()["error"]["code"] == "invalid_host"


def test_an_api_write_with_a_foreign_host_is_refused_and_appends_nothing(proxied_site):
    client = Http(proxied_site.url)
    before = client.get("/api/events?after=0&limit=1000").json()
    answer = client.post(f"/api/threads/{unique_key()}/comments", {"body": "rebound", "author_name": "Guest"},
                         headers={"Host": "evil.example", "Origin": "http://evil.example"})
    assert answer.status == 400
    assert client.get("/api/events?after=0&limit=1000").json() == before


def test_x_forwarded_host_is_ignored_from_anyone_but_a_trusted_proxy(proxied_site):
    anyone, proxy = Http(proxied_site.url), Http(proxied_site.url, source=PROXY)
    assert anyone.get("/api/threads/demo", headers={"X-Forwarded-Host": "evil.example"}).status == 200
    assert proxy.get("/api/threads/demo", headers={"X-Forwarded-Host": "evil.example"}).status == 400
    assert proxy.get("/api/threads/demo", headers={"X-Forwarded-Host": "localhost"}).status == 200


def test_the_per_ip_limit_counts_the_forwarded_client_only_behind_a_trusted_proxy(proxied_site):
    """Per-guest limit 3, per-IP 60 (20x). Fresh guests (no cookies) each post once: from one forwarded client
    IP the 61st is refused; another forwarded IP still posts. From an untrusted peer the header is ignored."""
    key = unique_key()
    client_ip = f"198.51.100.{secrets.randbelow(200) + 1}"

    def post(source: str, forwarded: str) -> int:
        guest = Http(proxied_site.url, source=source)
        return guest.post(f"/api/threads/{key}/comments", {"body": "hello there", "author_name": "Guest"},
                          headers={"X-Forwarded-For": f"203.0.113.9, {forwarded}"}).status

    statuses = [post(PROXY, client_ip) for _ in range(61)]
    assert statuses[:60] == [201] * 60
    assert statuses[60] == 429
    assert post(PROXY, "192.0.2.77") == 201  # another client behind the same proxy
    # Not from the proxy: X-Forwarded-For names someone new each time, yet it is 127.0.0.1 that is counted
    untrusted = [post("127.0.0.1", f"192.0.2.{i}") for i in range(61)]
    assert untrusted[:60] == [201] * 60 and untrusted[60] == 429


def test_the_per_guest_limit_answers_429_with_retry_after(proxied_site):
    guest, key = Http(proxied_site.url, source=PROXY), unique_key()
    ip = {"X-Forwarded-For": f"192.0.2.{secrets.randbelow(50) + 100}"}  # an IP of its own, far from its limit
    statuses = [guest.post(f"/api/threads/{key}/comments", {"body": f"comment {i}", "author_name": "Guest"},
                           headers=ip) for i in range(4)]
    assert [a.status for a in statuses] == [201, 201, 201, 429]
    assert int(statuses[-1].header("Retry-After")) >= 1
    assert statuses[-1].json()["error"]["code"] == "rate_limited"


@pytest.mark.parametrize("path", ["/", "/t/some-thread", "/api/threads/demo", "/api/threads/demo/comments",
                                  "/api/events?after=0", "/embed.js", "/static/threadlog/comments.css",
                                  "/static/admin/css/base.css",
                                  "/healthz", "/readyz", "/admin/login/"])
def test_head_is_answered_like_get(proxied_site, path):
    client = Http(proxied_site.url)
    got, head = client.get(path), client.head(path)
    assert got.status == 200, (path, got.status)
    assert head.status == 200, (path, head.status, head.body[:200])
    assert head.body == b""
    assert head.header("Content-Type") == got.header("Content-Type")
    if got.header("Content-Length") is not None:
        assert head.header("Content-Length") is not None
        if path not in ("/", "/t/some-thread", "/admin/login/", "/readyz"):  # pages differ by their CSRF token,
            assert head.header("Content-Length") == got.header("Content-Length")  # /readyz by its timing


@pytest.mark.parametrize("path", ["/", "/t/some-thread", "/admin/login/", "/audit/"])
def test_pages_carry_a_content_security_policy(proxied_site, path):
    answer = Http(proxied_site.url).get(path)
    policy = answer.header("Content-Security-Policy")
    assert policy, (path, dict(answer.headers))
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    host = proxied_site.url.split("://")[1]
    assert sorted(directives["connect-src"]) == sorted(["'self'", f"ws://{host}"])
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_templates_have_no_inline_scripts_styles_or_handlers():
    """What the policy would block: <script> with content, <style>, style= and on*= attributes."""
    from tests.conftest import ROOT

    bad = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S|<style|\sstyle=|\son[a-z]+=", re.I)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "frontend" / "templates").rglob("*.html")
                 if bad.search(p.read_text())]
    assert offenders == []


def test_a_csp_violation_report_is_accepted(proxied_site):
    client = Http(proxied_site.url)
    answer = client.post("/csp-report", {"csp-report": {"violated-directive": "script-src-elem",
                                                        "blocked-uri": "inline", "document-uri": "http://x/"}},
                         headers={"Content-Type": "application/csp-report"})
    assert answer.status == 204


@pytest.fixture(scope="module")
def https_site(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("https"), demo=True, env={
        "SITE_URL": "https://comments.example", "ALLOWED_HOSTS": "comments.example,127.0.0.1",
        "TRUSTED_PROXIES": f"{PROXY}/32", "SECRET_KEY": secrets.token_urlsafe(40),
    })
    server.start()  # polls /healthz over plain HTTP: exempt from the redirect
    yield server
    server.stop()


def test_https_site_url_switches_on_secure_cookies_and_hsts_behind_a_trusted_proxy(https_site):
    proxy = Http(https_site.url, source=PROXY)
    answer = proxy.get("/", headers={"Host": "comments.example", "X-Forwarded-Proto": "https"})
    assert answer.status == 200
    hsts = answer.header("Strict-Transport-Security")
    assert hsts and "max-age=31536000" in hsts
    cookies = answer.cookies()
    assert cookies, "a first page view sets the guest cookies"
    for name, raw in cookies.items():
        assert "Secure" in raw, (name, raw)
    policy = answer.header("Content-Security-Policy")
    assert "wss://comments.example" in policy


def test_https_site_url_redirects_plain_http_and_ignores_an_untrusted_proto_header(https_site):
    anyone = Http(https_site.url)
    answer = anyone.get("/", headers={"Host": "comments.example", "X-Forwarded-Proto": "https"})
    assert answer.status == 301
    assert answer.header("Location") == "https://comments.example/"
    assert answer.header("Strict-Transport-Security") is None
    assert anyone.get("/healthz").status == 200  # probes stay on plain HTTP
    proxy = Http(https_site.url, source=PROXY)
    assert proxy.get("/", headers={"Host": "comments.example", "X-Forwarded-Proto": "http"}).status == 301


@pytest.mark.parametrize("path", ["/static/threadlog/../../../pyproject.toml", "/static/..%2f..%2fpyproject.toml",
                                  "/static//etc/passwd", "/static/threadlog/%2e%2e/%2e%2e/platform/threadlog/settings.py",
                                  "/static/threadlog/", "/static/admin/../../../../settings.py",
                                  "/static/admin/css/../../../../../../pyproject.toml"])
def test_static_paths_cannot_leave_the_static_folder(proxied_site, path):
    answer = Http(proxied_site.url).get(path)
    assert answer.status == 404, (path, answer.status)
    assert b"SECRET" not in answer.body and b"[project]" not in answer.body


def test_the_ip_hash_in_the_log_is_the_forwarded_clients_only_behind_a_trusted_proxy(proxied_site):
    """The IP hash stored (sealed) with each write is of the X-Forwarded-For client when the peer is a trusted
    proxy, and of the peer itself otherwise; staff read it opened from /api/events."""
    import hashlib

    from .test_signin import _superuser

    def hashed(ip: str) -> str:
        return hashlib.sha256(f"{proxied_site.env['SECRET_KEY']}:{ip}".encode()).hexdigest()[:16]

    key, client_ip = unique_key(), f"198.51.100.{secrets.randbelow(200) + 1}"
    direct = f"127.0.1.{secrets.randbelow(200) + 1}"  # an untrusted peer of its own: the module's others post as 127.0.0.1
    forwarded = {"X-Forwarded-For": f"203.0.113.9, {client_ip}"}
    for source in (PROXY, direct):
        answer = Http(proxied_site.url, source=source).post(
            f"/api/threads/{key}/comments", {"body": f"from {source}", "author_name": "Guest"}, headers=forwarded)
        assert answer.status == 201, answer.body[:300]
    name, password = f"ops{secrets.randbelow(10**6)}", secrets.token_urlsafe(12)
    _superuser(proxied_site, name, password)
    staff = Http(proxied_site.url)
    assert staff.post("/api/session", {"username": name, "password": password}).status == 200
    events = staff.get(f"/api/events?after=0&limit=1000&thread={key}").json()["events"]
    by_body = {e["data"].get("body"): e["metadata"].get("ip_hash") for e in events if e["type"] == "CommentPosted"}
    assert by_body == {f"from {PROXY}": hashed(client_ip), f"from {direct}": hashed(direct)}
