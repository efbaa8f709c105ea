"""The Content-Security-Policy in Chromium: the site's pages work with it on (no violation while reading,
posting and receiving live frames), an injected inline script is blocked and reported to /csp-report, and the
widget works on a host page whose own policy allows what docs/security.md says it must."""
from __future__ import annotations

import http.server
import threading

import pytest

from tests.conftest import free_port, unique_key

pytestmark = pytest.mark.browser


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def test_the_page_works_under_the_policy_and_an_injected_inline_script_is_blocked(site, reader):
    key = unique_key("csp")
    r = reader()
    violations = _violations(r.page)
    r.goto(f"{site.url}/t/{key}")
    r.post("Written under a strict policy.")
    other = reader(f"{site.url}/t/{key}")
    r.post("A second comment, pushed live.")
    other.box_with("A second comment, pushed live.").wait_for()
    assert violations == [], violations
    assert r.errors == []

    page = r.page
    page.evaluate("""() => { window.__violations = [];
        document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective)); }""")
    with page.expect_request(lambda req: req.url.endswith("/csp-report") and req.method == "POST") as reported:
        page.evaluate("""() => { const s = document.createElement('script');
            s.textContent = 'window.__injected = true'; document.body.appendChild(s); }""")
    assert page.evaluate("window.__injected === undefined")
    assert "script-src-elem" in page.evaluate("window.__violations")
    body = reported.value.post_data or ""
    assert "script-src" in body and "inline" in body
    assert any("Content Security Policy" in v for v in violations)


def test_the_admin_sign_in_page_renders_without_violations(site, reader):
    r = reader()
    violations = _violations(r.page)
    r.page.goto(f"{site.url}/admin/login/")
    r.page.get_by_label("Username").wait_for()
    # the admin's own CSS (served from Django's static files under the policy) is applied
    assert r.page.locator("#header").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(65, 118, 144)"
    r.page.wait_for_timeout(300)
    assert violations == [], violations


@pytest.fixture
def strict_embedder(make_server):
    """Another site whose own CSP allows exactly what docs/security.md asks for the widget (and a threadlog
    server that lets it embed)."""
    port = free_port()
    site = make_server(env={"EMBED_ORIGINS": f"http://localhost:{port}"}).start()
    host = site.url.split("://")[1]
    policy = (f"default-src 'self'; script-src 'self' {site.url}; style-src 'self' {site.url}; "
              f"connect-src 'self' {site.url} ws://{host}; img-src 'self' data:; report-uri /violation")
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Strict host</title></head>
<body><h1>A host with its own policy</h1><script src="{site.url}/embed.js" data-thread="{unique_key('host')}"
async></script></body></html>""".encode()
    reports: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", policy)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_POST(self):
            reports.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://localhost:{port}", reports
    httpd.shutdown()
    httpd.server_close()


def test_the_widget_works_on_a_host_page_with_the_documented_policy(reader, strict_embedder):
    url, reports = strict_embedder
    r = reader()
    violations = _violations(r.page)
    r.goto(url + "/story")  # waits for the live connection: the WebSocket was allowed
    r.post("Posted from a strict host.", name="Host Reader")
    assert violations == [] and reports == [], (violations, reports)


def test_the_audit_pages_work_under_the_policy(make_server, reader, artifacts):
    """Staff's time-travel slider (wired by static/threadlog/audit.js, not an inline handler) still moves through
    the thread's positions, and the page is styled (audit.css) with no violation."""
    from tests.security.test_signin import _superuser

    server = make_server(demo=True)
    _superuser(server, "auditor", "audit-password-1")
    server.start()
    r = reader()
    violations = _violations(r.page)
    page = r.page
    page.goto(f"{server.url}/admin/login/?next=/audit/thread/demo")
    page.get_by_label("Username").fill("auditor")
    page.get_by_label("Password").fill("audit-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/audit/thread/demo")
    slider = page.locator("#step")  # the thread's steps, 1 to N (the workbench: docs/audit.md)
    last = int(slider.get_attribute("max"))
    first = int(slider.get_attribute("min"))
    assert last > first
    assert page.locator("header").evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(29, 36, 51)"
    slider.fill(str(first))  # input + change: the module travels there
    page.wait_for_url(f"**/audit/thread/demo?step={first}")
    assert f"Step {first} of {last}" in page.locator("main").inner_text()
    page.screenshot(path=str(artifacts / "audit-under-csp.png"), full_page=True)
    assert violations == [], violations
