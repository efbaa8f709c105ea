"""The reader's page and the embed widget in real Chromium: live comments, votes, replies, sorts, the bubble,
a server restart, and a hostile body. Each test writes to its own thread; the demo thread is only read."""
from __future__ import annotations

import time

import pytest

from tests.conftest import unique_key

from .conftest import api_post, post_comment

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=alert(1)>"


def test_demo_page_desktop_and_360px(site, reader, artifacts):
    for width, name in ((1280, "desktop"), (360, "360px")):
        r = reader(site.url + "/", width=width, height=900)
        page = r.page
        assert page.locator("h1").inner_text() == "Riverside library reopens after two-year renovation"
        assert page.locator(".tl-count").inner_text() == "8 Comments"
        assert r.top_authors() == ["Joe Doe", "John Brown", "Ronald", "Tommy Jensen"]
        tabs = page.get_by_role("tab")
        assert tabs.all_inner_texts() == ["Oldest", "Newest", "Most Voted", "Best", "Hot"]
        subscribe = page.get_by_label("Subscribe")
        assert subscribe.is_enabled()  # tests/browser/test_subscribe.py drives it
        for label in ("Would love your thoughts, please comment.", "Name", "Email"):
            assert page.get_by_label(label).count() == 1
        time_el = page.locator(".tl-time").first
        assert time_el.get_attribute("datetime") and time_el.get_attribute("title")
        assert page.locator(".tl-bubble-count").inner_text() == "8"
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"horizontal scroll at {width}px"
        page.screenshot(path=str(artifacts / f"page-{name}.png"), full_page=True)
        page.locator("#comments").screenshot(path=str(artifacts / f"comments-{name}.png"))


def test_comment_vote_reply_travel_between_two_pages(site, reader, artifacts):
    key = unique_key("b")
    a = reader(f"{site.url}/t/{key}")
    b = reader(f"{site.url}/t/{key}")
    assert a.page.locator(".tl-empty").is_visible()

    # A comment posted in one page appears in the other without a reload.
    a.post("Hello from page A, first comment of the thread.", name="Alice")
    box_b = b.box_with("Hello from page A")
    box_b.wait_for()
    assert box_b.locator(".tl-author").inner_text() == "Alice"
    assert b.page.locator(".tl-count").inner_text() == "1 Comment"
    assert a.page.locator(".tl-c.tl-mine .tl-edit").is_visible()  # own comment: Edit / Delete in the window
    assert not b.page.locator(".tl-edit:visible").count()
    parent_id = a.page.locator(".tl-list > .tl-c").first.get_attribute("data-id")

    # A vote in one changes the count in the other.
    b.comment(parent_id).locator(":scope > .tl-box .tl-up").click()
    up_a = a.comment(parent_id).locator(":scope > .tl-box .tl-up .tl-n")
    up_a.filter(has_text="1").wait_for()
    assert b.comment(parent_id).locator(":scope > .tl-box .tl-up").get_attribute("aria-pressed") == "true"
    b.comment(parent_id).locator(":scope > .tl-box .tl-down").click()  # changes the vote: up 0, down 1
    a.comment(parent_id).locator(":scope > .tl-box .tl-down .tl-n").filter(has_text="1").wait_for()
    assert up_a.inner_text() == "0"

    # A reply appears under its parent.
    b.comment(parent_id).locator(":scope > .tl-box .tl-reply").click()
    assert "Replying to Alice" in b.page.locator(".tl-reply-target").inner_text()
    b.post("A reply from page B.", name="Bob")
    reply = a.page.locator(f'.tl-c[data-id="{parent_id}"] > .tl-replies > .tl-c')
    reply.wait_for()
    assert reply.locator(".tl-author").inner_text() == "Bob"
    assert "A reply from page B." in reply.locator(".tl-body").inner_text()
    assert a.page.locator(".tl-count").inner_text() == "2 Comments"

    # Edits and deletions update in place.
    a.comment(parent_id).locator(":scope > .tl-box .tl-edit").click()
    editor = a.page.get_by_label("Edit your comment")
    editor.fill("Hello again, edited.")
    a.page.get_by_role("button", name="Save").click()
    b.box_with("Hello again, edited.").wait_for()
    assert b.comment(parent_id).locator(":scope > .tl-box .tl-edited").is_visible()
    b_reply_id = reply.get_attribute("data-id")
    b.comment(b_reply_id).locator(":scope > .tl-box .tl-delete").click()
    b.page.get_by_role("button", name="Yes, delete").click()
    a.comment(b_reply_id).wait_for(state="detached")
    assert a.page.locator(".tl-count").inner_text() == "1 Comment"
    a.page.locator("#comments").screenshot(path=str(artifacts / "live-two-pages.png"))

    # After a reload the API says which comments are the reader's own and how they voted.
    for r in (a, b):
        r.page.reload()
        r.wait_live()
    assert a.comment(parent_id).locator(":scope > .tl-box .tl-edit").is_visible()
    assert not b.comment(parent_id).locator(":scope > .tl-box .tl-edit").is_visible()
    assert b.comment(parent_id).locator(":scope > .tl-box .tl-down").get_attribute("aria-pressed") == "true"
    assert a.comment(parent_id).locator(":scope > .tl-box .tl-down").get_attribute("aria-pressed") == "false"


def test_sort_tabs_reorder(site, reader):
    r = reader(site.url + "/")
    orders = {
        "Oldest": ["Joe Doe", "John Brown", "Ronald", "Tommy Jensen"],
        "Newest": ["Tommy Jensen", "Ronald", "John Brown", "Joe Doe"],
        "Most Voted": ["Ronald", "Joe Doe", "John Brown", "Tommy Jensen"],
        "Best": ["Ronald", "Joe Doe", "John Brown", "Tommy Jensen"],
        "Hot": ["Ronald", "Joe Doe", "John Brown", "Tommy Jensen"],
    }
    for tab in ("Newest", "Most Voted", "Oldest", "Best", "Hot"):
        r.page.get_by_role("tab", name=tab).click()
        r.page.wait_for_function(
            "([el, want]) => el.getAttribute('aria-busy') === 'false' && [...el.querySelectorAll("
            "':scope > .tl-c > .tl-box .tl-author')].map(a => a.textContent).join('|') === want",
            arg=[r.page.locator(".tl-list").element_handle(), "|".join(orders[tab])])
        assert r.page.get_by_role("tab", name=tab).get_attribute("aria-selected") == "true"
    # Keyboard: arrows move between tabs and switch the sort.
    r.page.get_by_role("tab", name="Hot").focus()
    r.page.keyboard.press("Home")
    assert r.page.get_by_role("tab", name="Oldest").get_attribute("aria-selected") == "true"
    r.page.wait_for_function("() => document.querySelector('.tl-list .tl-author').textContent === 'Joe Doe'")
    # Keyboard: Reply moves the form under the comment; Escape puts it back and returns focus.
    reply = r.page.locator(".tl-list > .tl-c").first.locator(":scope > .tl-box .tl-reply")
    reply.focus()
    r.page.keyboard.press("Enter")
    body = r.page.get_by_label("Would love your thoughts, please comment.")
    assert body.evaluate("el => el === document.activeElement")
    assert r.page.locator(".tl-list .tl-form").count() == 1
    assert "Replying to Joe Doe" in r.page.locator(".tl-reply-target").inner_text()
    r.page.keyboard.press("Escape")
    assert r.page.locator(".tl-list .tl-form").count() == 0
    assert reply.evaluate("el => el === document.activeElement")


def test_live_comment_lands_in_place_for_each_sort(site, reader):
    key = unique_key("s")
    first = post_comment(site, key, "First, the most liked.", "Ann")
    second = post_comment(site, key, "Second, nobody votes.", "Ben")
    for _ in range(2):
        api_post(site, f"/api/comments/{first['id']}/vote", {"value": 1})  # one voter per cookie-less request
    r = reader(f"{site.url}/t/{key}")
    r.page.get_by_role("tab", name="Newest").click()
    r.page.wait_for_function("() => document.querySelector('.tl-list .tl-author').textContent === 'Ben'")
    post_comment(site, key, "Third, newest on top.", "Cai")
    r.box_with("Third, newest on top.").wait_for()
    assert r.top_authors() == ["Cai", "Ben", "Ann"]

    # Most Voted: a vote that would reorder does not reshuffle; it offers a re-sort instead.
    r.page.get_by_role("tab", name="Most Voted").click()
    r.page.wait_for_function("() => document.querySelector('.tl-list .tl-author').textContent === 'Ann'")
    assert r.top_authors() == ["Ann", "Ben", "Cai"]
    for _ in range(3):
        api_post(site, f"/api/comments/{second['id']}/vote", {"value": 1})
    r.comment(second["id"]).locator(":scope > .tl-box .tl-up .tl-n").filter(has_text="3").wait_for()
    resort = r.page.locator(".tl-resort")
    resort.wait_for()
    assert resort.inner_text() == "Re-sort (2 moved)"
    assert r.top_authors() == ["Ann", "Ben", "Cai"]
    resort.click()
    assert r.top_authors() == ["Ben", "Ann", "Cai"]
    assert resort.is_hidden()


def test_bubble_counts_new_comments_and_scroll_stays(site, reader, artifacts):
    key = unique_key("u")
    for i in range(22):
        post_comment(site, key, f"Seed comment number {i}. " + "Some words to give it height. " * 4, f"Seed {i}")
    r = reader(f"{site.url}/t/{key}", width=1280, height=700)
    page = r.page
    page.get_by_role("tab", name="Newest").click()
    page.wait_for_function("() => document.querySelector('.tl-list .tl-author').textContent === 'Seed 21'")
    # Read from the middle of the list: a comment inserted at the top must not move what is on screen.
    target = r.box_with("Seed comment number 5.")
    target.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(100)
    top_before = target.evaluate("el => el.getBoundingClientRect().top")
    post_comment(site, key, "Live one while scrolled away.", "Newcomer")
    r.box_with("Live one while scrolled away.").wait_for(state="attached")
    top_after = target.evaluate("el => el.getBoundingClientRect().top")
    assert abs(top_after - top_before) <= 1, (top_before, top_after)
    post_comment(site, key, "Second live one.", "Newcomer")
    badge = page.locator(".tl-badge")
    badge.filter(has_text="2 new").wait_for()
    assert page.locator(".tl-bubble-count").inner_text() == "24"
    page.screenshot(path=str(artifacts / "bubble-new.png"))
    page.locator(".tl-bubble").click()
    newest = r.box_with("Second live one.")
    page.wait_for_function(
        "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }",
        arg=newest.element_handle())
    assert badge.is_hidden()
    # 20 a page: the oldest two come with "Load more comments" (keyset cursor), nothing twice.
    assert len(r.top_authors()) == 22
    page.get_by_role("button", name="Load more comments").click()
    r.box_with("Seed comment number 0.").wait_for()
    authors = r.top_authors()
    assert len(authors) == 24 and len(set(authors)) == 23 and authors[-2:] == ["Seed 1", "Seed 0"]
    assert page.locator(".tl-more").is_hidden()


def test_deep_replies_collapse_and_expand_by_keyboard(site, reader, artifacts):
    key = unique_key("d")
    parent = None
    for depth in range(6):
        parent = post_comment(site, key, f"Depth {depth} says hello.", f"Level {depth}",
                              parent_id=parent["id"] if parent else None)
    r = reader(f"{site.url}/t/{key}", width=360, height=800)
    page = r.page
    assert page.locator(".tl-box:visible").count() == 4  # depths 0-3 shown
    button = page.locator(".tl-expand:visible")
    assert button.inner_text() == "show 2 more replies"
    button.focus()
    page.keyboard.press("Enter")
    r.box_with("Depth 5 says hello.").wait_for()
    assert page.locator(".tl-box:visible").count() == 6
    assert button.get_attribute("aria-expanded") == "true"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    page.locator("#comments").screenshot(path=str(artifacts / "deep-replies-360px.png"))


def test_script_in_a_body_is_shown_as_text_and_runs_nothing(site, reader):
    key = unique_key("x")
    a = reader(f"{site.url}/t/{key}")
    b = reader(f"{site.url}/t/{key}")
    a.post(XSS, name="<b>Mallory</b>")
    for r in (a, b):
        box = r.box_with("<img")
        box.wait_for()
        assert box.locator(".tl-body").inner_text().strip() == XSS
        assert box.locator(".tl-author").inner_text() == "<b>Mallory</b>"
        assert box.locator(".tl-body img, .tl-c-head b").count() == 0
    b.page.reload()
    b.wait_live()
    assert b.box_with("<img").locator(".tl-body").inner_text().strip() == XSS
    a.page.wait_for_timeout(300)
    # the reader fixture fails the test on any dialog (alert) or script error


def test_page_survives_a_server_restart_and_misses_nothing(make_server, reader):
    server = make_server().start()
    key = unique_key("r")
    post_comment(server, key, "Before the restart.", "Early")
    a = reader(f"{server.url}/t/{key}")
    fetches = []
    a.page.on("request", lambda req: "/comments" in req.url and req.method == "GET" and fetches.append(req.url))
    conn = a.page.locator(".tl-conn")
    server.stop()
    a.page.locator('.tl-conn[data-state="reconnecting"]').wait_for()
    assert "Reconnecting" in conn.inner_text()
    server.start()  # same port, same database
    bodies = [f"Written while the page was away, number {i}." for i in range(3)]
    for body in bodies:
        post_comment(server, key, body, "Late")
    a.wait_live(timeout=20_000)
    for body in bodies:
        a.box_with(body).wait_for()
    time.sleep(0.5)
    texts = [t.strip() for t in a.page.locator(".tl-list > .tl-c > .tl-box .tl-body").all_inner_texts()]
    assert texts == ["Before the restart."] + bodies  # each once, in order
    assert a.page.locator(".tl-count").inner_text() == "4 Comments"
    # and it is live again
    post_comment(server, key, "After the reconnect.", "Later")
    a.box_with("After the reconnect.").wait_for()
    assert fetches == []  # resumed from its position over the socket: no refetch


def test_reset_from_the_server_refetches_the_thread(make_server, reader):
    """When more happened than the server replays (RESUME_MAX_EVENTS), it says reset and the page refetches."""
    server = make_server(env={"RESUME_MAX_EVENTS": "2"}).start()
    key = unique_key("z")
    post_comment(server, key, "Before the gap.", "Early")
    a = reader(f"{server.url}/t/{key}")
    fetches = []
    a.page.on("request", lambda req: "/comments" in req.url and req.method == "GET" and fetches.append(req.url))
    server.stop()
    a.page.locator('.tl-conn[data-state="reconnecting"]').wait_for()
    a.context.set_offline(True)  # hold the page back while more than it may replay happens
    server.start()
    bodies = [f"Posted during the gap, number {i}." for i in range(4)]
    for body in bodies:
        post_comment(server, key, body, "Gap")
    a.context.set_offline(False)
    a.wait_live(timeout=20_000)
    for body in bodies:
        a.box_with(body).wait_for()
    texts = [t.strip() for t in a.page.locator(".tl-list > .tl-c > .tl-box .tl-body").all_inner_texts()]
    assert texts == ["Before the gap."] + bodies
    assert len(fetches) == 1


def test_embed_renders_in_shadow_dom_on_another_site(site, embedder, reader, artifacts):
    r = reader(f"{embedder}/news/library-story")
    page = r.page
    key = "~news~library-story"
    assert page.locator(".threadlog-embed").get_attribute("data-thread") == key
    assert page.evaluate("document.querySelector('.threadlog-embed').shadowRoot !== null")
    assert page.evaluate("document.querySelectorAll('.tl-root').length") == 0  # nothing in the light DOM
    # The host page's CSS does not reach in.
    color = page.locator(".tl-form button[type=submit]").evaluate("el => getComputedStyle(el).color")
    assert color == "rgb(255, 255, 255)"
    r.post("Posted through the widget.", name="Embed Reader")
    other = reader(f"{site.url}/t/{key}")
    other.box_with("Posted through the widget.").wait_for()
    post_comment(site, key, "Posted on the site itself.", "Site Reader")
    r.box_with("Posted on the site itself.").wait_for()
    page.screenshot(path=str(artifacts / "embed.png"), full_page=True)
