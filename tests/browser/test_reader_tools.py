"""Reader tools in real Chromium: the formatting toolbar and its shortcuts, Preview, Quote, a permalink into a
collapsed reply on the third page, identicons, and count.js on another site's index page."""
from __future__ import annotations

import pytest

from tests.conftest import free_port, unique_key

from .conftest import api_post, post_comment, serve_pages

pytestmark = pytest.mark.browser

BODY_LABEL = "Would love your thoughts, please comment."


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


@pytest.mark.parametrize("width", [1280, 360])
def test_toolbar_shortcuts_and_preview(site, reader, artifacts, width):
    key = unique_key("fmt")
    r = reader(f"{site.url}/t/{key}", width=width, height=900)
    page = r.page
    box = page.get_by_label(BODY_LABEL)
    toolbar = page.get_by_role("toolbar", name="Formatting")
    assert toolbar.get_by_role("button").count() == 5
    box.fill("loud")
    box.select_text()
    toolbar.get_by_role("button", name="Bold").click()
    assert box.input_value() == "**loud**"
    box.press("End")
    box.type(" and ")
    box.press("Control+i")
    assert box.input_value() == "**loud** and *italic text*"
    box.press("End")
    box.type(" see ")
    box.press("Control+k")
    assert box.input_value().endswith("see [link text](https://)")
    assert page.evaluate("(() => { const t = document.activeElement; return t.value.slice(t.selectionStart,"
                         " t.selectionEnd); })()") == "https://"
    page.keyboard.type("https://example.org/doc")
    box.press("End")
    box.press("Enter")
    box.type("code here")
    page.evaluate("(() => { const t = document.activeElement; t.setSelectionRange(t.value.length - 9,"
                  " t.value.length); })()")
    toolbar.get_by_role("button", name="Code").click()
    box.press("End")
    toolbar.get_by_role("button", name="Insert quote").click()  # nothing selected: a placeholder quote on its own line
    value = box.input_value()
    assert "`code here`" in value and value.endswith("\n\n> quoted text\n\n")
    page.get_by_role("button", name="Preview", exact=True).click()
    preview = page.locator(".tl-preview")
    preview.locator("strong", has_text="loud").wait_for()
    assert preview.locator("em").inner_text() == "italic text"
    link = preview.locator("a")
    assert link.get_attribute("href") == "https://example.org/doc"
    assert link.get_attribute("rel") == "nofollow ugc noopener"
    assert preview.locator("code").inner_text() == "code here"
    assert preview.locator("blockquote").inner_text() == "quoted text"
    assert not box.is_visible() and toolbar.get_by_role("button", name="Bold").is_disabled()
    _no_overflow(page)
    page.locator(".tl-form").screenshot(path=str(artifacts / f"formatting-preview-{width}px.png"))
    preview_html = preview.inner_html()
    page.get_by_role("button", name="Write", exact=True).click()
    assert box.is_visible()
    page.get_by_label("Name").fill("Fay Format")
    page.locator(".tl-form button[type=submit]").click()
    posted = page.locator(".tl-list .tl-body", has=page.locator("strong", has_text="loud"))
    posted.wait_for()
    assert posted.inner_html() == preview_html  # what was previewed is what was posted
    assert box.input_value() == "" and box.is_visible()
    page.locator("#comments").screenshot(path=str(artifacts / f"formatting-posted-{width}px.png"))


def test_quote_puts_the_comment_into_the_form(site, reader, artifacts):
    key = unique_key("q")
    post_comment(site, key, "First line with **weight**\nand a [link](https://example.org/q).\n\n> an old quote",
                 "Quinn")
    r = reader(f"{site.url}/t/{key}", width=1280)
    page = r.page
    page.get_by_label(BODY_LABEL).fill("My reply.")
    page.locator(".tl-c").get_by_role("button", name="Quote", exact=True).click()
    value = page.get_by_label(BODY_LABEL).input_value()
    assert value == ("My reply.\n\n> First line with **weight**\n> and a [link](https://example.org/q).\n>\n"
                     "> > an old quote\n\n")
    assert page.evaluate("document.activeElement.name") == "body"
    page.get_by_label("Name").fill("Rae")
    page.locator(".tl-form button[type=submit]").click()
    quoted = page.locator(".tl-list > .tl-c").nth(1).locator(".tl-body")
    quoted.locator("blockquote strong", has_text="weight").wait_for()
    assert quoted.locator("blockquote blockquote").inner_text() == "an old quote"
    page.locator("#comments").screenshot(path=str(artifacts / "quote-1280px.png"))


def test_permalink_opens_a_collapsed_reply_on_page_three(site, reader, artifacts):
    key = unique_key("perm")
    tops = [post_comment(site, key, f"Top comment number {i}.", f"Reader {i}") for i in range(50)]
    parent = tops[44]  # the third page holds comments 41-60 (20 a page)
    chain = []
    for depth in range(1, 6):
        parent = post_comment(site, key, f"Reply at depth {depth}.", f"Replier {depth}", parent_id=parent["id"])
        chain.append(parent)
    target = chain[-1]  # depth 5: folded under "show 2 more replies" (depth 4 and 5)
    for width in (1280, 360):
        r = reader(width=width, height=800)
        r.goto(f"{site.url}/t/{key}#comment-{target['id']}")
        page = r.page
        box = r.comment(target["id"]).locator(":scope > .tl-box")
        box.wait_for()
        page.wait_for_function("() => document.querySelector('.tl-target') !== null")
        assert "tl-target" in box.get_attribute("class")
        assert box.is_visible() and r.box_with("Reply at depth 4.").is_visible()
        assert page.locator(".tl-list > .tl-c").first.locator(".tl-body").first.inner_text() == "Top comment number 44."
        assert box.evaluate("b => { const r = b.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }")
        assert page.evaluate("document.activeElement.classList.contains('tl-box')")
        link = box.locator(".tl-permalink")
        assert link.get_attribute("href") == f"{site.url}/t/{key}#comment-{target['id']}"
        _no_overflow(page)
        page.screenshot(path=str(artifacts / f"permalink-{width}px.png"))
        # back to the start, then follow another comment's date link on the page
        page.get_by_role("button", name="Show comments from the start").click()
        page.locator(".tl-list > .tl-c .tl-body", has_text="Top comment number 0.").wait_for()
        first = r.comment(tops[0]["id"]).locator(":scope > .tl-box .tl-permalink")
        first.click()
        page.wait_for_function(f"() => document.querySelector('[data-id=\"{tops[0]['id']}\"] > .tl-box.tl-target')")
        # an unknown comment leaves the page as it is
        page.evaluate("location.hash = '#comment-00000000-0000-4000-8000-000000000000'")
        page.wait_for_timeout(300)
        assert page.locator(".tl-list > .tl-c").count() == 20


def test_identicons_replace_initials(site, reader, artifacts):
    key = unique_key("av")
    post_comment(site, key, "I have an identicon.", "Ida")
    r = reader(f"{site.url}/t/{key}", width=360)
    svg = r.page.locator(".tl-avatar.tl-has-img svg").first
    svg.wait_for()
    assert svg.locator("rect").count() > 2  # the ground and the cells, drawn inline (no <img>: no img-src needed)
    assert r.page.locator(".tl-avatar img").count() == 0
    r.page.locator(".tl-c").first.screenshot(path=str(artifacts / "identicon-360px.png"))


@pytest.fixture
def index_site(site):
    """Another site's blog index: links to its articles, each counted by count.js from `site`."""
    pages: dict[str, bytes] = {}
    with serve_pages(free_port(), pages, default=b"<!doctype html><title>article</title><p>An article.</p>") as origin:
        yield origin, pages


def test_count_js_fills_an_index_page_with_one_request(site, reader, index_site, artifacts):
    origin, pages = index_site
    suffix = unique_key("c").split("-")[1]
    paths = [f"/blog/{suffix}/first/", f"/blog/{suffix}/second/", f"/blog/{suffix}/third/"]
    keys = [p.replace("/", "~") for p in paths]
    for _ in range(3):
        post_comment(site, keys[0], "on the first")
    post_comment(site, keys[1], "on the second")
    given = unique_key("given")
    post_comment(site, given, "named outright")
    post_comment(site, given, "twice")
    pages["/"] = f"""<!doctype html><html><head><meta charset="utf-8"><title>Blog</title></head><body>
<h1>Blog</h1>
<ul>
<li><a href="{paths[0]}">First post</a> · <a class="count" href="{paths[0]}#comments" data-threadlog-count>…</a></li>
<li><a href="{paths[1]}">Second post</a> · <a class="count" href="{paths[1]}" data-threadlog-count>…</a></li>
<li><a href="{paths[2]}">Third post</a> · <a class="count" href="{origin}{paths[2]}" data-threadlog-count>…</a></li>
<li>Elsewhere · <span class="count" data-threadlog-count="{given}">…</span></li>
</ul>
<script src="{site.url}/count.js" async></script></body></html>""".encode()
    r = reader(width=1280)
    requests: list[str] = []
    r.page.on("request", lambda req: requests.append(req.url) if "/api/" in req.url else None)
    r.page.goto(origin + "/")
    r.page.wait_for_function("() => document.querySelectorAll('[data-threadlog-counted]').length === 4")
    counts = r.page.locator(".count").all_inner_texts()
    assert counts == ["3 comments", "1 comment", "0 comments", "2 comments"]
    assert len(requests) == 1 and "/api/counts?keys=" in requests[0]
    r.page.screenshot(path=str(artifacts / "count-index-1280px.png"))
    assert api_post  # the module's helpers stay importable
