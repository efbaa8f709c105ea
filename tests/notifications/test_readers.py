"""Signing in by e-mail (one-time link, session cookie), managing subscriptions, guest comments becoming the
reader's, and the personal live notice when someone replies."""
from __future__ import annotations

import json
import time

import pytest
from websockets.sync.client import connect

from tests.conftest import unique_key

from .conftest import Browser

pytestmark = pytest.mark.slow


def sign_in(smtp, browser: Browser, address: str, count: int = 1) -> str:
    status, data, text = browser.request("POST", "/api/session/email", {"email": address})
    assert (status, data) == (202, {"status": "sign_in_link_sent"}), text
    message = smtp.wait_for(address, count, where=lambda m: "sign-in" in m.message["Subject"].lower())[-1]
    link = message.link("/session/email/")
    status, _, page = browser.request("GET", link)
    assert status == 200 and "signed in" in page.lower(), page
    return link


def eventually(fn, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        result = fn()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_sign_in_by_email_links_the_guest_and_manages_subscriptions(mail_server, smtp):
    key = unique_key("signin")
    bob = Browser(mail_server.url)
    mine = bob.post_comment(key, "Posted as a guest", name="Bob")
    bob.subscribe(key, "bob@example.com", notify="replies")
    smtp.wait_for("bob@example.com")  # the confirmation

    link = sign_in(smtp, bob, "bob@example.com")
    status, _, page = bob.request("GET", link)
    assert status == 400 and "used already" in page  # single use
    status, data, _ = bob.request("GET", "/api/session/email")
    assert data == {"signed_in": True, "email": "bob@example.com", "reader": data["reader"], "name": data["name"]}
    assert data["reader"].startswith("reader:")
    assert '"GuestLinked"' in mail_server.cli("events", "tail").stdout

    # the guest's comment is the reader's now, on this browser and on another device signed in as the same reader
    phone = Browser(mail_server.url)
    sign_in(smtp, phone, "bob@example.com", count=2)
    for device in (bob, phone):
        ok = eventually(lambda: device.request("PATCH", f"/api/comments/{mine['id']}", {"body": "Edited"})[0] == 200)
        assert ok
        page = device.request("GET", f"/api/threads/{key}/comments")[1]
        assert page["comments"][0].get("mine") is True
    assert phone.request("GET", "/api/session/email")[1]["name"] == "Bob"  # the name, on a new device too

    status, data, _ = phone.request("GET", "/api/subscriptions")
    assert status == 200 and data["signed_in"] is True
    assert [(s["thread"], s["notify"], s["status"]) for s in data["subscriptions"]] == [(key, "replies", "pending")]
    sub_id = data["subscriptions"][0]["id"]
    status, data, text = Browser(mail_server.url).request("DELETE", f"/api/subscriptions/{sub_id}")
    assert status == 404 and data["error"]["code"] == "subscription_not_found"  # not someone else's
    status, data, text = phone.request("DELETE", f"/api/subscriptions/{sub_id}")
    assert status == 200 and data["status"] == "ended", text
    assert eventually(lambda: phone.request("GET", "/api/subscriptions")[1]["subscriptions"] == [])
    status, data, _ = phone.request("DELETE", f"/api/subscriptions/{sub_id}")
    assert status == 404

    status, data, _ = bob.request("DELETE", "/api/session/email")
    assert data == {"signed_in": False}
    status, data, text = bob.request("POST", "/api/session/email", {"email": "nope"})
    assert status == 422 and data["error"]["code"] == "invalid_email"


def test_a_reply_sends_a_personal_notice_to_the_authors_open_pages(mail_server):
    key, elsewhere = unique_key("notice"), unique_key("other")
    bob, alice = Browser(mail_server.url), Browser(mail_server.url)
    mine = bob.post_comment(key, "Reply to me", name="Bob")
    bob.post_comment(elsewhere, "Reading another thread", name="Bob")
    cookie = "; ".join(f"{c.name}={c.value}" for c in bob.jar)
    ws_url = mail_server.ws_url + f"/ws/threads/{elsewhere}/"
    with connect(ws_url, origin=mail_server.url, additional_headers={"Cookie": cookie}) as ws, \
            connect(mail_server.ws_url + f"/ws/threads/{elsewhere}/", origin=mail_server.url) as stranger:
        assert json.loads(ws.recv(10))["type"] == "ready"
        assert json.loads(stranger.recv(10))["type"] == "ready"
        time.sleep(0.5)
        reply = alice.post_comment(key, "Here you go", name="Alice", parent_id=mine["id"])
        deadline = time.monotonic() + 10
        notice = None
        while notice is None and time.monotonic() < deadline:
            frame = json.loads(ws.recv(10))
            if frame["type"] == "notice":
                notice = frame
        assert notice == {"type": "notice", "kind": "reply", "comment_id": reply["id"], "thread": key}
        alice.post_comment(elsewhere, "A comment that is no reply", name="Alice")
        frames = []
        while not any(f.get("type") == "event" for f in frames):
            frames.append(json.loads(stranger.recv(10)))
        assert not [f for f in frames if f["type"] == "notice"]  # nobody else's page gets it
