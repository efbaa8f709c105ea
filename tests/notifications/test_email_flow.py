"""End to end over HTTP against a real SMTP server: subscribe, confirm from the message's link, receive a comment
with the right parts and headers, unsubscribe by the one-click POST, and then no more mail."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import unique_key

from .conftest import Browser

pytestmark = pytest.mark.slow


def confirm(smtp, browser: Browser, address: str, *, count: int = 1) -> None:
    message = smtp.wait_for(address, count, where=lambda m: "Confirm" in m.message["Subject"])[-1]
    status, _, page = browser.request("GET", message.link("/subscriptions/confirm/"))
    assert status == 200 and "Subscription confirmed" in page, page


def test_subscribe_confirm_receive_unsubscribe(mail_server, smtp):
    key = unique_key("mail")
    alice, bob, carol = Browser(mail_server.url), Browser(mail_server.url), Browser(mail_server.url)
    alice.post_comment(key, "First!", name="Alice")

    bob.subscribe(key, "bob@example.com")
    confirmation = smtp.wait_for("bob@example.com")[0]
    assert key in confirmation.message["Subject"]  # a thread without a title is named by its key
    assert confirmation.message.get_body(("html",)) is not None
    confirm(smtp, bob, "bob@example.com")
    carol.subscribe(key, "carol@example.com")
    confirm(smtp, carol, "carol@example.com")

    comment = alice.post_comment(key, "Hello <script>alert(1)</script> & welcome", name="Alice <b>A</b>")
    got = smtp.wait_for("bob@example.com", 2)[-1]
    msg = got.message
    assert key in msg["Subject"] and "Alice" in msg["Subject"]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert "Hello <script>alert(1)</script> & welcome" in got.text
    assert "<script>" not in got.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; welcome" in got.html
    assert "Alice &lt;b&gt;A&lt;/b&gt;" in got.html
    link = f"{mail_server.url}/t/{key}#comment-{comment['id']}"
    assert link in got.text and link in got.html
    unsubscribe = str(msg["List-Unsubscribe"]).strip().strip("<>")
    assert urlsplit(unsubscribe).path.startswith("/subscriptions/unsubscribe/")
    assert unsubscribe in got.text
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    message_id = str(msg["Message-ID"]).strip()
    assert message_id.startswith("<") and message_id.endswith(">") and "@127.0.0.1>" in message_id
    ids = {str(m.message["Message-ID"]).strip() for m in smtp.messages}
    assert len(ids) == len(smtp.messages)  # one per (event, recipient)

    # the unsubscribe page has one button; the one-click POST (as a mail client sends it) ends it, twice is fine
    status, _, page = Browser(mail_server.url).request("GET", unsubscribe)
    assert status == 200 and page.count("<button") == 1
    for _ in range(2):
        status, _, page = Browser(mail_server.url).request(
            "POST", unsubscribe, raw=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200 and "unsubscribed" in page, page

    alice.post_comment(key, "Anyone still here?", name="Alice")
    smtp.wait_for("carol@example.com", 3)  # carol, still subscribed, gets it: the notifier has decided on it
    time.sleep(1)
    assert len(smtp.to("bob@example.com")) == 2  # bob got nothing more
    code = mail_server.cli("notify", "status", "--json", check=False)
    assert code.returncode == 0, code.stdout


def test_the_author_gets_nothing_for_their_own_comment(mail_server, smtp):
    key = unique_key("own")
    bob, carol, dave = Browser(mail_server.url), Browser(mail_server.url), Browser(mail_server.url)
    bob.post_comment(key, "Opening the thread", name="Bob")
    for who, address in ((bob, "bob@example.com"), (carol, "carol@example.com")):
        who.subscribe(key, address)
        confirm(smtp, who, address)
    bob.post_comment(key, "Bob again, same browser", name="Bob")  # same person
    dave.post_comment(key, "Bob from his phone", name="Bob", email="BOB@example.com")  # same address
    smtp.wait_for("carol@example.com", 3)
    time.sleep(1)
    assert [m.message["Subject"] for m in smtp.to("bob@example.com")] == [smtp.to("bob@example.com")[0].message["Subject"]]


def test_replies_reach_the_replied_to_author_only(mail_server, smtp):
    key = unique_key("reply")
    bob, alice = Browser(mail_server.url), Browser(mail_server.url)
    mine = bob.post_comment(key, "My take", name="Bob", email="bob@example.com")
    bob.subscribe(key, "bob@example.com", notify="replies")
    confirm(smtp, bob, "bob@example.com")
    other = alice.post_comment(key, "Unrelated top-level comment", name="Alice")
    alice.post_comment(key, "Replying to someone else", name="Alice", parent_id=other["id"])
    reply = alice.post_comment(key, "I disagree, Bob", name="Alice", parent_id=mine["id"])
    got = smtp.wait_for("bob@example.com", 2)[-1]
    assert "replied" in got.message["Subject"] and "I disagree, Bob" in got.text
    assert f"#comment-{reply['id']}" in got.text
    time.sleep(1)
    assert len(smtp.to("bob@example.com")) == 2


def test_asking_again_within_ten_minutes_sends_one_confirmation(mail_server, smtp):
    key = unique_key("again")
    bob = Browser(mail_server.url)
    for notify in ("comments", "comments", "replies"):
        bob.subscribe(key, "bob@example.com", notify=notify)
    smtp.wait_for("bob@example.com")
    status = mail_server.cli("notify", "status", "--json")
    time.sleep(1)
    assert len(smtp.to("bob@example.com")) == 1, status.stdout
    # the second `comments` request is the first one again (no duplicate); the one confirmation proves the address:
    # both subscriptions are confirmed by it, at once (the handler applies what it appends)
    confirm(smtp, bob, "bob@example.com")
    status, data, _ = bob.request("GET", "/api/subscriptions")
    assert [(s["notify"], s["status"]) for s in data["subscriptions"]] == [("comments", "active"), ("replies", "active")]


def test_bad_requests_get_clear_errors(mail_server):
    key = unique_key("bad")
    b = Browser(mail_server.url)
    for body, code in (({"email": "not an address", "notify": "comments"}, "invalid_email"),
                       ({"email": "a@example.com", "notify": "everything"}, "invalid_request"),
                       ({"email": "a@example.com", "extra": 1}, "invalid_request")):
        status, data, text = b.request("POST", f"/api/threads/{key}/subscriptions", body)
        assert status == 422 and data["error"]["code"] == code, text
    status, data, _ = b.request("POST", "/api/threads/bad key!/subscriptions".replace(" ", "%20"),
                                {"email": "a@example.com", "notify": "comments"})
    assert status == 400 and data["error"]["code"] == "invalid_key"
    for path in ("/subscriptions/confirm/forged", "/subscriptions/unsubscribe/forged"):
        status, _, page = b.request("GET", path)
        assert status == 400 and "not valid" in page


def test_digest_sends_at_most_one_message_per_period(make_server, smtp):
    server = make_server(demo=False, env={"EMAIL_URL": smtp.url, "NOTIFY_POLL_SECONDS": "0.2",
                                          "NOTIFY_DIGEST_SECONDS": "4"})
    server.env["SITE_URL"] = server.url
    server.start()
    key = unique_key("digest")
    alice, bob = Browser(server.url), Browser(server.url)
    bob.subscribe(key, "bob@example.com")
    confirm(smtp, bob, "bob@example.com")
    alice.post_comment(key, "First of three", name="Alice")
    first = smtp.wait_for("bob@example.com", 2)[-1]
    assert "First of three" in first.text
    alice.post_comment(key, "Second of three", name="Alice")
    alice.post_comment(key, "Third of three", name="Alice")
    time.sleep(1.5)
    assert len(smtp.to("bob@example.com")) == 2  # within the period: nothing yet
    digest = smtp.wait_for("bob@example.com", 3, timeout=20)[-1]
    assert digest.message["Subject"].startswith("2 new comments on")
    assert "Second of three" in digest.text and "Third of three" in digest.text
    assert str(digest.message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    time.sleep(1.5)
    assert len(smtp.to("bob@example.com")) == 3


def test_without_email_url_messages_are_files_in_var_mail(make_server, tmp_path):
    """`make run` with nothing installed: each message is an .eml file a newcomer can read."""
    import email
    import email.policy

    var = tmp_path / "var"
    server = make_server(demo=False, env={"THREADLOG_VAR": str(var), "EMAIL_URL": "", "NOTIFY_POLL_SECONDS": "0.2"})
    server.start()
    Browser(server.url).subscribe(unique_key("file"), "newcomer@example.com")
    deadline = time.monotonic() + 20
    while not list((var / "mail").glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.2)
    files = list((var / "mail").glob("*.eml"))
    assert len(files) == 1
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "newcomer@example.com" and "Confirm" in msg["Subject"]
    assert f"{server.url}/subscriptions/confirm/" in msg.get_body(("plain",)).get_content()  # SITE_URL: HOST:PORT
