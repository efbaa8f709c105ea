"""The moderators' page in Chromium: a moderator signs in on the reader's page, opens /moderation, approves a held
comment with the keyboard, and a reader's page shows it live. Screenshots of the queue at 1280 and 360 px."""
from __future__ import annotations

import http.cookiejar
import json
import urllib.request

import pytest

from tests.conftest import Server, unique_key

from .conftest import api_post

pytestmark = pytest.mark.browser

HELD = "A held comment that waits for the moderator's keyboard."


@pytest.fixture(scope="module")
def premod_site(tmp_path_factory):
    server = Server(tmp_path_factory.mktemp("moderation-site"), demo=True, env={
        "DJANGO_SUPERUSER_USERNAME": "editor", "DJANGO_SUPERUSER_PASSWORD": "correct horse",
        "DJANGO_SUPERUSER_EMAIL": "editor@example.org"})
    server.cli("createsuperuser", "--noinput")
    server.start()
    yield server
    server.stop()


def staff_api(site: Server):
    """An HTTP client signed in as the editor (a cookie jar), for setting the scene."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(method: str, path: str, payload: dict | None = None) -> dict:
        request = urllib.request.Request(site.url + path, method=method,
                                         data=json.dumps(payload).encode() if payload is not None else None,
                                         headers={"Content-Type": "application/json", "Origin": site.url})
        with opener.open(request, timeout=10) as response:
            return json.loads(response.read())

    call("POST", "/api/session", {"username": "editor", "password": "correct horse"})
    return call


def test_sign_in_approve_from_the_queue_with_the_keyboard_reader_sees_it_live(premod_site, reader, artifacts):
    site = premod_site
    key = unique_key("mq")
    parent = api_post(site, f"/api/threads/{key}/comments", {"body": "Context: the parent.", "author_name": "Pam"})
    staff_api(site)("POST", f"/api/threads/{key}/moderation", {"action": "premoderate"})  # from now on: held
    api_post(site, f"/api/threads/{key}/comments", {"body": HELD, "author_name": "Quinn Held",
                                                    "parent_id": parent["comment"]["id"]})
    api_post(site, f"/api/threads/{key}/comments", {"body": "Second in the queue.", "author_name": "Rae"})

    public = reader(f"{site.url}/t/{key}")
    assert public.page.locator(".tl-count").inner_text() == "1 Comment"  # the two held: the public sees neither
    assert HELD not in public.page.content()

    staff = reader(f"{site.url}/t/{key}")
    page = staff.page
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Staff login").fill("editor")
    page.get_by_label("Password").fill("correct horse")
    page.locator(".tl-signin-form button[type=submit]").click()
    page.get_by_text("Signed in as editor (moderator)").wait_for()
    staff.box_with("Second in the queue.").wait_for()  # staff see held comments inline, with their actions
    assert staff.box_with("Second in the queue.").locator(".tl-status").text_content() == "Awaiting moderation"
    assert staff.box_with("Second in the queue.").get_by_role("button", name="Approve").is_visible()
    page.locator("#comments").screenshot(path=str(artifacts / "moderation-inline-desktop.png"))

    page.goto(f"{site.url}/moderation?thread={key}")
    items = page.locator(".mq-item")
    items.first.wait_for()
    assert items.count() == 2
    first = items.nth(0)
    assert HELD in first.inner_text()
    assert "Context: the parent." in first.locator(".mq-parent").inner_text()  # in context
    assert "premoderation" in first.locator(".mq-why").inner_text()
    page.screenshot(path=str(artifacts / "moderation-queue-desktop.png"), full_page=True)

    page.keyboard.press("j")  # next
    assert "mq-selected" in items.nth(1).get_attribute("class")
    page.keyboard.press("k")  # back to the held reply
    assert "mq-selected" in items.nth(0).get_attribute("class")
    page.keyboard.press("a")  # approve
    page.locator(".mq-toast", has_text="Press u to undo").wait_for()
    assert page.locator(".mq-item", has_text=HELD).count() == 0
    page.keyboard.press("u")  # undo: back in the queue, nothing sent
    page.locator(".mq-item", has_text=HELD).wait_for()
    assert "mq-selected" in page.locator(".mq-item", has_text=HELD).get_attribute("class")
    assert HELD not in public.page.content()
    page.keyboard.press("a")

    # the approval reaches the public reader's page live, as a new reply under its parent
    public.box_with(HELD).wait_for(timeout=15_000)
    assert public.page.locator(".tl-count").inner_text() == "2 Comments"
    reply = public.page.locator(".tl-list > .tl-c > .tl-replies > .tl-c", has_text=HELD)
    assert reply.locator(".tl-author").inner_text() == "Quinn Held"
    page.locator(".mq-item", has_text=HELD).wait_for(state="detached")
    assert page.locator(".mq-item").count() == 1
    assert page.locator(".mq-more").is_hidden()

    # a comment held meanwhile appears in the open queue without a reload
    api_post(site, f"/api/threads/{key}/comments", {"body": "Arrived while the moderator watched.",
                                                    "author_name": "Sol"})
    page.locator(".mq-item", has_text="Arrived while the moderator watched.").wait_for(timeout=15_000)
    # and one another moderator decides leaves it
    rae = page.locator(".mq-item", has_text="Second in the queue.").get_attribute("data-id")
    staff_api(site)("POST", f"/api/comments/{rae}/moderation", {"action": "reject", "reason": "off topic"})
    page.locator(".mq-item", has_text="Second in the queue.").wait_for(state="detached", timeout=15_000)

    # the queue at 360 px: no sideways scrolling
    page.set_viewport_size({"width": 360, "height": 800})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "horizontal scroll at 360px"
    page.screenshot(path=str(artifacts / "moderation-queue-360px.png"), full_page=True)


def test_closing_a_thread_shows_on_the_readers_page_live(premod_site, reader):
    site = premod_site
    key = unique_key("mqc")
    api_post(site, f"/api/threads/{key}/comments", {"body": "Before the close.", "author_name": "Una"})
    public = reader(f"{site.url}/t/{key}")
    assert public.page.locator(".tl-form").is_visible()
    staff_api(site)("POST", f"/api/threads/{key}/moderation", {"action": "close", "reason": "enough"})
    public.page.get_by_text("This discussion is closed to new comments.").wait_for()
    assert not public.page.locator(".tl-form").is_visible()
    assert public.page.locator(".tl-count").inner_text() == "1 Comment"
