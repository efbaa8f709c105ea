"""Browser fixtures: Debian's Chromium driven by Playwright, a shared daphne with the demo thread, readers.

One server serves the whole browser suite (each test writes to its own thread key, and only reads the demo
thread); a test that restarts its server makes its own. Screenshots go to test-artifacts/ (gitignored).
"""
from __future__ import annotations

import contextlib
import http.server
import json
import os
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ROOT, Server, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = ROOT / "test-artifacts"
# Another site that embeds the widget: "localhost" is another site than "127.0.0.1" (cookies, CORS), and a
# loopback one, so Chromium's Private Network Access rules let it reach the loopback server.
EMBEDDER_PORT = free_port()
EMBEDDER = f"http://localhost:{EMBEDDER_PORT}"


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: Playwright's sync API runs an event loop in this thread while it is open, which would
    make every later test see "a running event loop" (Django refuses sync ORM calls then)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("THREADLOG_REQUIRE_SERVICES") == "1":
            pytest.fail("Debian's chromium is required here (make browser-deps) but is not installed")
        pytest.skip("Debian's chromium is not installed (make browser-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Server:
    """A real daphne with the demo thread, shared by the browser tests, that also lets EMBEDDER embed it."""
    server = Server(tmp_path_factory.mktemp("browser-site"), demo=True, env={"EMBED_ORIGINS": EMBEDDER})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def embedder(site):
    """EMBEDDER serving, at any path, a page of its own with the widget's script tag (from `site`)."""
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Embedder story</title>
<style>body {{ font: 16px Georgia, serif; max-width: 720px; margin: 20px auto; padding: 0 12px; }}
p, button, h2 {{ color: red !important; font-family: serif; }}</style></head>
<body><h1>Someone else's site</h1><p>Their article, with comments from threadlog below.</p>
<script src="{site.url}/embed.js" async></script></body></html>""".encode()

    with serve_pages(EMBEDDER_PORT, {}, default=page) as origin:
        yield origin


@contextlib.contextmanager
def serve_pages(port: int, pages: dict[str, bytes], default: bytes | None = None) -> Iterator[str]:
    """Another site on loopback: `pages[path]` (query ignored; the dict may be filled while it serves), else
    `default`, else 404. Yields its origin, http://localhost:<port> ("localhost": another site than 127.0.0.1)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0], default)
            self.send_response(404 if body is None else 200)
            body = b"not found" if body is None else body
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@dataclass
class Reader:
    """One reader: a browser context (its own cookies, so its own guest) with one page."""

    context: object
    page: object
    errors: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)

    def goto(self, url: str) -> "Reader":
        self.page.goto(url)
        self.wait_live()
        return self

    def wait_live(self, timeout: float = 15_000) -> None:
        self.page.locator('.tl-conn[data-state="live"]').wait_for(timeout=timeout)

    def comment(self, comment_id: str):
        return self.page.locator(f'.tl-c[data-id="{comment_id}"]')

    def box_with(self, text: str):
        return self.page.locator(".tl-box", has=self.page.locator(".tl-body", has_text=text))

    def top_authors(self) -> list[str]:
        return self.page.locator(".tl-list > .tl-c > .tl-box .tl-author").all_text_contents()

    def post(self, body: str, name: str = "Ada Reader") -> None:
        page = self.page
        page.get_by_label("Would love your thoughts, please comment.").fill(body)
        page.get_by_label("Name").fill(name)
        page.locator(".tl-form button[type=submit]").click()
        self.box_with(body.strip()[:40]).first.wait_for()


@pytest.fixture
def reader(browser):
    made: list[Reader] = []

    def make(url: str | None = None, *, width: int = 1280, height: int = 900) -> Reader:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(10_000)
        r = Reader(context, page)
        page.on("pageerror", lambda e: r.errors.append(str(e)))
        page.on("dialog", lambda d: (r.dialogs.append(d.message), d.dismiss()))
        made.append(r)
        if url:
            r.goto(url)
        return r

    yield make
    for r in made:
        r.context.close()
    for r in made:
        assert not r.errors, f"script errors on the page: {r.errors}"
        assert not r.dialogs, f"the page opened dialogs: {r.dialogs}"


def api_post(server: Server, path: str, payload: dict, method: str = "POST") -> dict:
    """Write through the HTTP API as another client would (JSON, same-origin Origin header)."""
    request = urllib.request.Request(server.url + path, data=json.dumps(payload).encode(), method=method,
                                     headers={"Content-Type": "application/json", "Origin": server.url})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def post_comment(server: Server, key: str, body: str, name: str = "Other Reader", parent_id: str | None = None) -> dict:
    payload = {"body": body, "author_name": name}
    if parent_id:
        payload["parent_id"] = parent_id
    return api_post(server, f"/api/threads/{key}/comments", payload)["comment"]
