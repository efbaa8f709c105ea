"""A real SMTP server (aiosmtpd) started by the tests, and an HTTP client that keeps its cookies (one browser)."""
from __future__ import annotations

import email
import email.policy
import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from aiosmtpd.controller import Controller

from benchmarks._servers import free_port


@dataclass
class Received:
    to: list[str]
    message: email.message.EmailMessage

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    def link(self, path: str) -> str:
        found = re.search(r"https?://\S+" + re.escape(path) + r"[^\s<>\"]+", self.text)
        assert found, (path, self.text)
        return found.group(0)


class SmtpSink:
    """Collects every message handed to it; answers 250 (or what `refuse` says for an address)."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.cond = threading.Condition()
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append(Received(list(envelope.rcpt_tos), msg))
            self.cond.notify_all()
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        with self.cond:
            return [m for m in self.messages if address in m.to]

    def wait_for(self, address: str, count: int = 1, timeout: float = 20,
                 where: Callable[[Received], bool] = lambda m: True) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [m for m in self.messages if address in m.to and where(m)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} of {count} messages to {address} after {timeout} s: "
                                         f"{[m.message['Subject'] for m in self.messages]}")
                self.cond.wait(left)


@pytest.fixture
def smtp():
    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.url = f"smtp://127.0.0.1:{controller.port}"
    yield sink
    controller.stop()


class Browser:
    """urllib with a cookie jar: one reader's browser, writing JSON with the site's Origin."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
        url = path if path.startswith("http") else self.base + path
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Origin": self.base, **(headers or {})}
        if body is not None:
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with self.opener.open(req, timeout=30) as resp:
                text = resp.read().decode()
                status = resp.status
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            text, status, ctype = exc.read().decode(), exc.code, exc.headers.get("Content-Type", "")
        return status, (json.loads(text) if "json" in ctype and text else None), text

    def post_comment(self, key: str, body: str, name: str = "Ann", email: str | None = None,
                     parent_id: str | None = None) -> dict:
        payload = {"body": body, "author_name": name}
        if email:
            payload["author_email"] = email
        if parent_id:
            payload["parent_id"] = parent_id
        status, data, text = self.request("POST", f"/api/threads/{key}/comments", payload)
        assert status == 201, text
        return data["comment"]

    def subscribe(self, key: str, email: str, notify: str = "comments") -> None:
        status, data, text = self.request("POST", f"/api/threads/{key}/subscriptions", {"email": email, "notify": notify})
        assert (status, data) == (202, {"status": "confirmation_sent"}), text

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


@pytest.fixture
def mail_server(make_server, smtp):
    """A running server (embedded notifier) whose mail goes to the test's SMTP server."""
    server = make_server(demo=False, env={"EMAIL_URL": smtp.url, "NOTIFY_POLL_SECONDS": "0.2",
                                          "NOTIFY_RETRY_SECONDS": "0.5"})
    server.env["SITE_URL"] = server.url
    return server.start()
