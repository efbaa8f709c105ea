"""Subscriptions in real Chromium against a real SMTP server: subscribe from the page, open the confirmation
link from the received message, post from a second page, the message lands; the form's "Notify me of replies"
box subscribes to replies, and a reply shows on the bell of the author's open page. Screenshots at 1280 and
360 px, and the e-mails themselves rendered, go to test-artifacts/."""
from __future__ import annotations

import pytest

from tests.conftest import unique_key
from tests.notifications.conftest import SmtpSink, smtp  # noqa: F401  (the SMTP server fixture)

from .conftest import post_comment

pytestmark = pytest.mark.browser


@pytest.fixture
def mail_site(make_server, smtp):  # noqa: F811
    server = make_server(demo=False, env={"EMAIL_URL": smtp.url, "NOTIFY_POLL_SECONDS": "0.2"})
    server.env["SITE_URL"] = server.url
    return server.start()


def render_mail(browser, html: str, path) -> None:
    page = browser.new_page(viewport={"width": 640, "height": 600})
    page.set_content(html)
    page.screenshot(path=str(path), full_page=True)
    page.close()


def test_subscribe_confirm_and_receive_from_the_page(mail_site, smtp: SmtpSink, reader, browser, artifacts):  # noqa: F811
    key = unique_key("sub")
    post_comment(mail_site, key, "The thread's first comment.", name="Opener")
    a = reader(f"{mail_site.url}/t/{key}")
    page = a.page
    choice = page.get_by_label("Subscribe")
    assert choice.is_enabled()
    choice.select_option("comments")
    page.get_by_label("Your e-mail").fill("ann@example.com")
    page.locator(".tl-sub-form button[type=submit]").click()
    page.locator(".tl-sub-done").get_by_text("Almost done").wait_for()
    page.locator(".tl-head").screenshot(path=str(artifacts / "subscribe-sent-1280.png"))
    page.locator("#comments").screenshot(path=str(artifacts / "subscribe-panel-1280.png"))

    confirmation = smtp.wait_for("ann@example.com")[0]
    render_mail(browser, confirmation.html, artifacts / "mail-confirm.png")
    page.goto(confirmation.link("/subscriptions/confirm/"))
    assert page.get_by_role("heading").inner_text() == "Subscription confirmed"
    page.screenshot(path=str(artifacts / "subscription-confirmed-1280.png"))

    b = reader(f"{mail_site.url}/t/{key}", width=360, height=800)
    b.post("Posted from a second page <b>bold?</b>", name="Bea")
    got = smtp.wait_for("ann@example.com", 2)[-1]
    assert "Bea" in got.message["Subject"] and "Posted from a second page <b>bold?</b>" in got.text
    render_mail(browser, got.html, artifacts / "mail-comment.png")

    # the link in the message leads to the comment
    comment_link = next(part for part in got.text.split() if "#comment-" in part)
    page.goto(comment_link)
    a.wait_live()
    focused = page.evaluate("document.activeElement.closest('.tl-c')?.dataset.id")
    assert comment_link.endswith(focused)


def test_notify_me_of_replies_box_and_the_bell(mail_site, smtp: SmtpSink, reader, browser, artifacts):  # noqa: F811
    key = unique_key("rep")
    post_comment(mail_site, key, "Opening the discussion.", name="Opener")
    for width in (1280, 360):
        r = reader(f"{mail_site.url}/t/{key}", width=width, height=900)
        page = r.page
        box = page.get_by_label("Notify me of replies to my comment")
        assert box.is_disabled()  # it needs an e-mail address
        page.get_by_label("Email").fill(f"bea{width}@example.com")
        assert box.is_enabled()
        box.check()
        page.locator(".tl-form").screenshot(path=str(artifacts / f"notify-box-{width}.png"))
        r.post(f"My comment at {width} px, reply to me", name=f"Bea {width}")
        page.locator(".tl-note").get_by_text("once you confirm").wait_for()
        assert not box.is_checked()
        confirmation = smtp.wait_for(f"bea{width}@example.com")[0]
        assert "Confirm" in confirmation.message["Subject"]
        other = reader(f"{mail_site.url}/t/{key}")
        other.page.goto(confirmation.link("/subscriptions/confirm/"))
        assert other.page.get_by_role("heading").inner_text() == "Subscription confirmed"

        mine = page.locator(".tl-c.tl-mine").first.get_attribute("data-id")
        post_comment(mail_site, key, f"A reply for Bea at {width}", name="Carl", parent_id=mine)
        badge = page.locator(".tl-bell-badge")
        badge.filter(has_text="1").wait_for()
        page.locator(".tl-head").screenshot(path=str(artifacts / f"bell-badge-{width}.png"))
        page.locator(".tl-bell").click()
        page.locator(".tl-notices a").first.wait_for()
        page.locator("#comments").screenshot(path=str(artifacts / f"bell-open-{width}.png"))
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"horizontal scroll at {width}px"

        reply = smtp.wait_for(f"bea{width}@example.com", 2)[-1]
        assert "replied to you" in reply.message["Subject"] and f"A reply for Bea at {width}" in reply.text
        if width == 360:
            render_mail(browser, reply.html, artifacts / "mail-reply.png")


def test_sign_in_by_email_from_the_page_and_manage_subscriptions(mail_site, smtp: SmtpSink, reader, artifacts):  # noqa: F811
    key = unique_key("acct")
    r = reader(f"{mail_site.url}/t/{key}", width=360, height=900)
    page = r.page
    r.post("A comment before signing in", name="Dana")
    page.get_by_label("Subscribe").select_option("replies")
    page.get_by_label("Your e-mail").fill("dana@example.com")
    page.locator(".tl-sub-form button[type=submit]").click()
    page.locator(".tl-sub-done").get_by_text("Almost done").wait_for()

    page.locator(".tl-bell").click()
    page.get_by_role("button", name="Sign in by e-mail").click()
    page.locator(".tl-email-signin input").fill("dana@example.com")
    page.get_by_role("button", name="Send sign-in link").click()
    page.locator(".tl-account").get_by_text("Check your inbox").wait_for()
    page.locator("#comments").screenshot(path=str(artifacts / "signin-sent-360.png"))
    message = smtp.wait_for("dana@example.com", where=lambda m: "sign-in" in m.message["Subject"].lower())[0]
    page.goto(message.link("/session/email/"))
    assert page.get_by_role("heading").inner_text() == "You are signed in"
    page.screenshot(path=str(artifacts / "signed-in-360.png"))

    fresh = reader(width=360, height=900)  # a second device: the same reader after its own sign-in
    fresh.page.goto(f"{mail_site.url}/t/{key}")
    fresh.wait_live()
    r.goto(f"{mail_site.url}/t/{key}")
    assert page.get_by_label("Name").input_value() == "Dana"
    assert page.get_by_label("Email").input_value() == "dana@example.com"
    page.locator(".tl-bell").click()
    page.get_by_role("button", name="Your subscriptions").click()
    item = page.locator(".tl-my-subs li").first
    item.get_by_text("replies to you").wait_for()
    page.locator("#comments").screenshot(path=str(artifacts / "my-subscriptions-360.png"))
    item.get_by_role("button", name="Unsubscribe").click()
    item.get_by_text("Unsubscribed.").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Sign in by e-mail").wait_for()
