"""Every page a person can reach passes axe-core (WCAG 2.2 A and AA rules, nothing switched off) at 1280 and
360 px, and in the states that matter: the reply form open, a collapsed branch expanded, the "N new" bubble
showing, a panel or dialog open, signed in as staff. The article, /t/<key>, the embed on another origin, the
moderators' queue and its ban dialog, the audit pages, the subscription confirmation and unsubscribe pages,
the e-mail sign-in page, the link-not-valid page and Django's staff login.

Run alone: `.venv/bin/pytest tests/browser/test_accessibility.py` (README: "Checkers")."""
from __future__ import annotations

import json

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import unique_key
from tests.notifications.conftest import SmtpSink, smtp  # noqa: F401  (the SMTP server fixture)

from .conftest import post_comment

pytestmark = pytest.mark.browser

AXE = Axe()
WCAG22_A_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a",
                                                      "wcag22aa"]}}
WIDTHS = (1280, 360)
STAFF = {"username": "a11y-staff", "password": "a11y pass 19"}


def assert_accessible(page, where: str, within: str | None = None) -> None:
    result = AXE.run(page, context=within, options=WCAG22_A_AA).response
    found = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:4]) for v in result["violations"]]
    assert not found, f"{where} at {page.viewport_size['width']}px: {found}"
    assert result["passes"], f"axe checked nothing on {where}"


@pytest.fixture(scope="module")
def staff_site(site):
    """The shared browser site, with a staff account (created once; a second run finds it there)."""
    site.env.update({"DJANGO_SUPERUSER_USERNAME": STAFF["username"], "DJANGO_SUPERUSER_PASSWORD": STAFF["password"],
                     "DJANGO_SUPERUSER_EMAIL": "a11y@example.org"})
    site.cli("createsuperuser", "--noinput", check=False)
    return site


def sign_in(r, server) -> None:
    response = r.context.request.post(f"{server.url}/api/session", data=json.dumps(STAFF),
                                      headers={"Content-Type": "application/json", "Origin": server.url})
    assert response.ok, response.text()


@pytest.fixture(scope="module")
def busy_thread(site) -> str:
    """A thread long enough to scroll, with a branch deeper than the page shows unfolded."""
    key = unique_key("a11y")
    for n in range(14):
        post_comment(site, key, f"Top comment number {n}, with **some** Markdown and a [link](https://example.org).",
                     f"Reader {n}")
    parent = None
    for depth in range(6):
        parent = post_comment(site, key, f"Depth {depth} of a long branch.", f"Level {depth}",
                              parent_id=parent["id"] if parent else None)
    return key


@pytest.mark.parametrize("width", WIDTHS)
def test_reader_pages_and_their_states(site, busy_thread, reader, width):
    r = reader(f"{site.url}/", width=width)
    assert_accessible(r.page, "the article")
    r = reader(f"{site.url}/t/{busy_thread}", width=width)
    page = r.page
    assert_accessible(page, "a thread")

    page.locator(".tl-list > .tl-c").first.locator(":scope > .tl-box .tl-reply").click()
    page.locator(".tl-list .tl-form").wait_for()
    assert_accessible(page, "a thread with the reply form open")
    page.keyboard.press("Escape")

    expand = page.locator(".tl-expand:visible").first
    expand.click()
    r.box_with("Depth 5 of a long branch.").wait_for()
    assert_accessible(page, "a thread with a collapsed branch expanded")

    page.evaluate("window.scrollTo(0, 0)")
    post_comment(site, busy_thread, f"A live one at {width}px.", "Newcomer")
    page.locator(".tl-badge").filter(has_text="1 new").wait_for()
    assert_accessible(page, 'a thread with the "N new" bubble showing')
    page.locator(".tl-bubble").click()

    page.locator(".tl-bell").click()
    page.locator(".tl-bell[aria-expanded=true]").wait_for()
    assert_accessible(page, "a thread with the notifications panel open")
    page.keyboard.press("Escape")
    page.get_by_label("Subscribe").select_option("comments")
    assert_accessible(page, "a thread with the subscribe form open")
    page.get_by_role("button", name="Sign in").first.click()
    page.get_by_label("Staff login").wait_for()
    assert_accessible(page, "a thread with the staff sign-in form open")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_embed_on_another_origin(site, embedder, reader, width):
    r = reader(f"{embedder}/posts/a11y-{width}/", width=width)
    # The widget only: the embedding page (red text, no lang) is the other site's business, not ours.
    assert_accessible(r.page, "the embed on another origin", within=".threadlog-embed")


@pytest.mark.parametrize("width", WIDTHS)
def test_staff_pages_queue_dialog_and_audit(staff_site, busy_thread, reader, width):
    key = unique_key("a11y-mod")
    r = reader(width=width)
    sign_in(r, staff_site)
    post_comment(staff_site, key, "Opening a thread to moderate.", "Opener")
    r.context.request.post(f"{staff_site.url}/api/threads/{key}/moderation", data=json.dumps({"action": "premoderate"}),
                           headers={"Content-Type": "application/json", "Origin": staff_site.url})
    post_comment(staff_site, key, f"Held for the moderators at {width}px.", "Waiting Reader")
    page = r.page
    page.goto(f"{staff_site.url}/moderation")
    page.get_by_text(f"Held for the moderators at {width}px.").first.wait_for()
    assert_accessible(page, "the moderation queue")
    page.get_by_role("button", name="Ban").first.click()
    page.locator("dialog.mq-dialog").wait_for()
    assert_accessible(page, "the moderation queue with the ban dialog open")
    page.keyboard.press("Escape")
    r.goto(f"{staff_site.url}/t/{key}")
    assert_accessible(page, "a thread, signed in as staff")
    for path in ("/audit/", f"/audit/thread/{busy_thread}", "/audit/chain", "/admin/login/"):
        page.goto(staff_site.url + path)
        assert_accessible(page, path)


@pytest.fixture
def mail_site(make_server, smtp):  # noqa: F811
    server = make_server(demo=False, env={"EMAIL_URL": smtp.url, "NOTIFY_POLL_SECONDS": "0.2"})
    server.env["SITE_URL"] = server.url
    return server.start()


def test_subscription_and_sign_in_pages(mail_site, smtp: SmtpSink, reader):  # noqa: F811
    key = unique_key("a11y-sub")
    post_comment(mail_site, key, "A thread to follow.", "Opener")
    r = reader()
    for path, payload in ((f"/api/threads/{key}/subscriptions", {"email": "ida@example.com", "notify": "comments"}),
                          ("/api/session/email", {"email": "ida@example.com"})):
        response = r.context.request.post(mail_site.url + path, data=json.dumps(payload),
                                          headers={"Content-Type": "application/json", "Origin": mail_site.url})
        assert response.ok, response.text()
    messages = smtp.wait_for("ida@example.com", count=2)
    confirm = next(m.link("/subscriptions/confirm/") for m in messages if "/subscriptions/confirm/" in m.text)
    signin = next(m.link("/session/email/") for m in messages if "/session/email/" in m.text)
    page = r.page
    page.goto(confirm)
    post_comment(mail_site, key, "News for the subscriber.", "Another Reader")
    news = smtp.wait_for("ida@example.com", where=lambda m: "News for the subscriber" in m.text)
    unsubscribe = news[-1].link("/subscriptions/unsubscribe/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(confirm)
        assert_accessible(page, "the subscription confirmed page")
        page.goto(unsubscribe)
        assert_accessible(page, "the unsubscribe page")
        page.goto(f"{mail_site.url}/subscriptions/unsubscribe/not-a-token")
        assert_accessible(page, "the link-not-valid page")
    page.goto(unsubscribe)
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You are unsubscribed").wait_for()
    assert_accessible(page, "the unsubscribed page")
    page.goto(signin)
    assert_accessible(page, "the signed-in-by-e-mail page")
