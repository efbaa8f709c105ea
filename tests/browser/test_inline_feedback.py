"""Inline feedback in real Chromium (issue 15): select a passage of the demo article, comment on it, see the badge
appear live on a second page, follow the quote back to the passage; anchors survive edits of the article and
show "changed" when their own sentence goes; the embed on another origin does the same; the keyboard-only flow
(caret browsing) works; axe-core finds nothing in the feature's controls. Screenshots at 1280 and 360 px go to
docs/inline-feedback/.
"""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Reader, api_post, serve_pages
from tests.conftest import ROOT, Server, free_port, unique_key

pytestmark = pytest.mark.browser

DOCS = ROOT / "docs" / "inline-feedback"
EMBED_PORT = free_port()
EMBED_ORIGIN = f"http://localhost:{EMBED_PORT}"
OURS = ("threadlog-", "tl-anchor", "tl-passage", "tl-changed", "tlf-")

P1 = ("The harbour bridge will close for six weeks from Monday. Engineers found cracks in two of the steel cables "
      "during an inspection in May.")
SENTENCE = "Ferries will run every twenty minutes while the bridge is closed."
P2 = f"{SENTENCE} The council says the repairs cost far less than a new bridge would."
VERSIONS = {
    "v1": [P1, P2],
    # other sentences changed, a paragraph added before: the passage keeps its place by its quote
    "v2": ["Update: the closure now starts a week later.",
           "The harbour bridge closes for eight weeks from next Monday, not six. Cracks were found in May.",
           f"{SENTENCE} Repairs are cheaper than a new bridge, the council says."],
    # the passage itself reworded a little: found by the fuzzy match
    "v3": [P1, "Ferries will run every fifteen minutes while the bridge is closed. The council says the repairs cost "
               "far less than a new bridge would."],
    # its sentence deleted: "on a passage that has changed"
    "v4": [P1, "The council says the repairs cost far less than a new bridge would."],
}


@pytest.fixture(scope="module")
def inline_site(tmp_path_factory):
    """A server of its own with the demo thread (these tests add anchored comments to it), which lets
    EMBED_ORIGIN embed it."""
    server = Server(tmp_path_factory.mktemp("inline-site"), demo=True, env={"EMBED_ORIGINS": EMBED_ORIGIN})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def embed_pages(inline_site):
    """EMBED_ORIGIN serving `pages[path]` (another site, with its own article and hostile styles)."""
    pages: dict[str, bytes] = {}
    with serve_pages(EMBED_PORT, pages):
        yield pages


def story(site: Server, key: str, paragraphs: list[str], attrs: str = "") -> bytes:
    body = "".join(f'<p id="s{i}">{p}</p>' for i, p in enumerate(paragraphs))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Harbour bridge</title>
<style>body {{ font: 16px/1.6 Georgia, serif; max-width: 720px; margin: 20px auto; padding: 0 12px; }}
p, button, span {{ color: #8b0000 !important; }}</style></head>
<body><article><h1>Harbour bridge closes for repairs</h1>{body}</article>
<script src="{site.url}/embed.js" data-thread="{key}" {attrs} async></script></body></html>""".encode()


def select_text(page, selector: str, text: str) -> None:
    """Select `text` inside the element `selector` with the mouse: press before its first character, drag past
    its last one."""
    page.evaluate("(s) => document.querySelector(s).scrollIntoView({block: 'center'})", selector)
    box = page.evaluate("""([selector, text]) => {
        const root = document.querySelector(selector);
        const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.nodeValue.indexOf(text);
            if (at < 0) continue;
            const r = document.createRange();
            r.setStart(node, at); r.setEnd(node, at + 1);
            const a = r.getBoundingClientRect();
            r.setStart(node, at + text.length - 1); r.setEnd(node, at + text.length);
            const b = r.getBoundingClientRect();
            return {x1: a.left + 1, y1: a.top + a.height / 2, x2: b.right - 1, y2: b.top + b.height / 2};
        }
        return null;
    }""", [selector, text])
    assert box, f"{text!r} not in {selector}"
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move((box["x1"] + box["x2"]) / 2, (box["y1"] + box["y2"]) / 2, steps=4)
    page.mouse.move(box["x2"], box["y2"], steps=4)
    page.mouse.up()


def badge_counts(page) -> dict[str, str]:
    """Paragraph id -> the count its badge shows."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.threadlog-badge')]
        .map((b) => [b.parentElement.id, b.shadowRoot.querySelector('.tlf-count').textContent]))""")


def highlighted(page) -> list[str]:
    return page.evaluate("""() => CSS.highlights.has('threadlog-anchor')
        ? [...CSS.highlights.get('threadlog-anchor')].map((r) => r.toString()) : []""")


def badge(page, paragraph: str):
    return page.locator(f"#{paragraph} .threadlog-badge button")


def our_violations(page) -> list:
    """axe-core's violations in the feature's own controls (the rest of the page is checked elsewhere)."""
    found = Axe().run(page).response["violations"]
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in found
            if any(any(mark in str(n["target"]) for mark in OURS) for n in v["nodes"])]


def shot(page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"))


def test_select_comment_badge_live_and_quote_links_back(inline_site, reader):
    a = reader(inline_site.url + "/")
    b = reader(inline_site.url + "/")
    page = a.page
    before = badge_counts(b.page)
    assert before == {"p-visitors": "1", "p-cost": "4", "p-hours": "3"}  # the demo's anchored comments
    passage = "maps and photographs, previously kept in the attic"
    select_text(page, "#p-archive", passage)
    button = page.locator(".threadlog-select button")
    button.wait_for()
    assert page.evaluate("getSelection().toString()") == passage
    shot(page, "select-1280")
    button.click()
    form = page.locator(".tl-form")
    assert form.locator(".tl-passage-quote").inner_text() == f"“{passage}”"
    assert page.evaluate("document.activeElement.name") == "body"
    page.get_by_label("Would love your thoughts, please comment.").fill("Climate-controlled, in a flood zone?")
    page.get_by_label("Name").fill("Basement Bea")
    page.locator(".tl-form button[type=submit]").click()
    box = a.box_with("in a flood zone")
    box.wait_for()
    assert box.locator(".tl-anchor-quote").inner_text().endswith(f"“{passage}”")
    assert form.locator(".tl-passage").is_hidden()
    # the second page: a badge on that paragraph, live, with the right count; the others unchanged
    b.page.wait_for_function("() => document.querySelector('#p-archive .threadlog-badge')")
    assert badge_counts(b.page) == {**before, "p-archive": "1"}
    assert passage in highlighted(b.page)
    label = badge(b.page, "p-archive").get_attribute("aria-label")
    assert label == f"1 comment on: “{passage}”"
    # a second reader on the same passage: one anchor, the count moves on both pages
    mine = [c for c in api_comments(inline_site, "demo") if c["anchor"] and c["anchor"]["exact"] == passage][0]
    anchor = {k: mine["anchor"][k] for k in ("exact", "prefix", "suffix", "start", "end")}
    got = api_post(inline_site, "/api/threads/demo/comments", {"body": "Above the flood line, I hope.", "author_name": "Dee",
                                                               "anchor": anchor})
    assert got["comment"]["anchor"]["id"] == mine["anchor"]["id"]
    for p in (a.page, b.page):
        p.wait_for_function("() => document.querySelector('#p-archive .threadlog-badge')"
                            ".shadowRoot.querySelector('.tlf-count').textContent === '2'")
    # the quote links back: the passage scrolls into view and flashes
    b.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    quote = b.box_with("in a flood zone").locator(".tl-anchor-link")
    quote.click()
    b.page.wait_for_function("() => CSS.highlights.has('threadlog-flash')")
    assert b.page.evaluate("[...CSS.highlights.get('threadlog-flash')][0].toString()") == passage
    b.page.wait_for_function("""() => { const r = document.getElementById('p-archive').getBoundingClientRect();
        return r.top >= 0 && r.bottom <= innerHeight; }""")
    shot(b.page, "flash-1280")
    # the badge opens the passage's comments in a dialog, with votes and Reply; Escape returns to the badge
    badge(b.page, "p-archive").click()
    dialog = b.page.locator(".tlf-dialog")
    dialog.wait_for()
    assert dialog.get_attribute("open") is not None
    dialog.locator(".tlf-c").nth(1).wait_for()
    assert dialog.locator(".tlf-title").inner_text() == "2 comments on this passage"
    bodies = dialog.locator(".tlf-body").all_inner_texts()
    assert bodies == ["Climate-controlled, in a flood zone?", "Above the flood line, I hope."]
    vote = dialog.locator(".tlf-c").first.locator('button[data-do="vote"][data-value="1"]')
    vote.click()
    b.page.wait_for_function("""() => { const v = document.querySelector('.threadlog-layer').shadowRoot
        .querySelector('.tlf-c button[data-value="1"]'); return v && v.getAttribute('aria-pressed') === 'true'; }""")
    assert our_violations(b.page) == []
    shot(b.page, "popover-1280")
    b.page.keyboard.press("Escape")
    assert dialog.get_attribute("open") is None
    assert b.page.evaluate("document.activeElement.closest('#p-archive') !== null")
    # the thread: the comment shows its quote; the whole thing in a screenshot
    b.box_with("in a flood zone").scroll_into_view_if_needed()
    shot(b.page, "thread-1280")


def test_360px_article_popover_and_thread(inline_site, reader):
    r = reader(inline_site.url + "/", width=360, height=780)
    page = r.page
    page.locator("#p-cost .threadlog-badge").scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    shot(page, "article-360")
    badge(page, "p-cost").click()
    dialog = page.locator(".tlf-dialog")
    dialog.locator(".tlf-c").nth(1).wait_for()
    assert "tlf-sheet" in dialog.get_attribute("class")
    rect = dialog.bounding_box()
    assert rect["x"] >= 0 and rect["x"] + rect["width"] <= 360
    assert our_violations(page) == []
    shot(page, "popover-360")
    dialog.locator("text=Show all comments").click()
    assert dialog.get_attribute("open") is None
    r.box_with("Extending the hours costs").scroll_into_view_if_needed()
    shot(page, "thread-360")


def test_embed_on_another_origin_survives_edits_and_shows_changed(inline_site, embed_pages, reader):
    key = unique_key("inline")
    for name, paragraphs in VERSIONS.items():
        embed_pages[f"/{key}/{name}"] = story(inline_site, key, paragraphs)
    r = reader(f"{EMBED_ORIGIN}/{key}/v1")
    page = r.page
    select_text(page, "#s1", SENTENCE)
    page.locator(".threadlog-select button").click()
    assert page.locator(".tl-passage-quote").inner_text() == f"“{SENTENCE}”"
    r.post("Every twenty minutes is not enough at rush hour.", name="Commuter")
    page.wait_for_function("() => document.querySelector('#s1 .threadlog-badge')")
    assert badge_counts(page) == {"s1": "1"}
    assert highlighted(page) == [SENTENCE]
    anchor = api_comments(inline_site, key)[0]["anchor"]
    assert anchor["exact"] == SENTENCE and anchor["container"] == "s1"

    # other sentences changed, a paragraph added before it: still placed, on its own sentence
    r.goto(f"{EMBED_ORIGIN}/{key}/v2")
    page.wait_for_function("() => document.querySelector('.threadlog-badge')")
    assert badge_counts(page) == {"s2": "1"} and highlighted(page) == [SENTENCE]
    assert r.page.locator(".tl-changed-anchors").is_hidden()
    # the sentence reworded: the fuzzy match finds it
    r.goto(f"{EMBED_ORIGIN}/{key}/v3")
    page.wait_for_function("() => document.querySelector('.threadlog-badge')")
    assert highlighted(page) == ["Ferries will run every fifteen minutes while the bridge is closed."]
    # its sentence deleted: listed as on a passage that has changed, and marked so on the comment
    r.goto(f"{EMBED_ORIGIN}/{key}/v4")
    changed = page.locator(".tl-changed-anchors")
    changed.wait_for()
    assert badge_counts(page) == {} and highlighted(page) == []
    assert SENTENCE in changed.inner_text() and "1 comment" in changed.inner_text()
    assert r.box_with("not enough at rush hour").locator(".tl-anchor-gone").is_visible()
    shot(page, "embed-changed-1280")
    changed.locator("button").click()
    page.locator(".tlf-dialog .tlf-c").first.wait_for()
    assert "(this passage has changed)" in page.locator(".tlf-dialog .tlf-quotes").inner_text()
    page.keyboard.press("Escape")

    # data-article names another element than the default <article>
    other = unique_key("inline")
    embed_pages[f"/{other}"] = story(inline_site, other, VERSIONS["v1"], 'data-article="#s0"')
    r.goto(f"{EMBED_ORIGIN}/{other}")
    select_text(page, "#s0", "Engineers found cracks")
    page.locator(".threadlog-select button").wait_for()
    page.evaluate("getSelection().removeAllRanges()")
    select_text(page, "#s1", "Ferries will run")
    page.wait_for_timeout(300)
    assert page.locator(".threadlog-select").is_hidden()  # outside the named element: nothing to anchor to


def api_comments(site: Server, key: str) -> list[dict]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{site.url}/api/threads/{key}/comments", timeout=10) as response:
        return json.loads(response.read())["comments"]


@pytest.fixture
def caret_reader(browser):
    """A reader whose Chromium has caret browsing on (F7 in a desktop browser): a keyboard selects text."""
    caret = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--enable-caret-browsing"],
                                        headless=True)
    context = caret.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield Reader(context, page)
    caret.close()
    assert not errors, errors


def active(page) -> str:
    """What has the focus, looking into shadow roots: 'host-class > element text/name'."""
    return page.evaluate("""() => { let a = document.activeElement; const path = [];
        while (a) { path.push(a.className || a.tagName); if (!a.shadowRoot || !a.shadowRoot.activeElement) break;
                    a = a.shadowRoot.activeElement; }
        return path.join(' > ') + ' :: ' + (a.getAttribute('aria-label') || a.textContent || a.name || '').trim(); }""")


def tab_until(page, done, limit: int = 30) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if done():
            return
    raise AssertionError(f"Tab never got there; the focus is on {active(page)}")


def test_keyboard_only(inline_site, caret_reader):
    r = caret_reader.goto(inline_site.url + "/")
    page = r.page
    keys = page.keyboard
    # Select a line of the article with the caret, Tab to "Comment on this", Enter: the form, passage quoted.
    keys.press("Tab")  # the skip link: the caret goes with the focus
    for _ in range(40):
        keys.press("ArrowDown")
        if page.evaluate("getSelection().anchorNode && getSelection().anchorNode.parentElement.id === 'p-membership'"):
            break
    keys.press("Shift+End")
    selected = " ".join(page.evaluate("getSelection().toString()").split())
    assert selected and selected in " ".join(page.locator("#p-membership").inner_text().split())
    page.locator(".threadlog-select button").wait_for()
    keys.press("Tab")
    assert active(page).endswith(":: Comment on this")
    keys.press("Enter")
    assert page.locator(".tl-passage-quote").inner_text() == f"“{selected}”"
    keys.type("Typed without a mouse.")
    tab_until(page, lambda: page.evaluate("document.activeElement.name") == "author_name")
    keys.type("Kim Keys")
    keys.press("Enter")  # submits the form
    r.box_with("Typed without a mouse.").wait_for()
    page.wait_for_function("() => document.querySelector('#p-membership .threadlog-badge')")
    assert badge_counts(page)["p-membership"] == "1", (selected, badge_counts(page))
    # Tab to that badge; Enter opens the dialog with the focus in it; Reply and post; Escape returns.
    page.evaluate("window.scrollTo(0, 0)")
    keys.press("Shift+Tab")  # from the form field back up to the article, button by button
    for _ in range(80):
        if page.evaluate("document.activeElement.closest && document.activeElement.closest('#p-membership') !== null"):
            break
        keys.press("Shift+Tab")
    assert active(page).startswith("threadlog-badge") and "1 comment on:" in active(page)
    keys.press("Enter")
    dialog = page.locator(".tlf-dialog")
    dialog.locator(".tlf-c").first.wait_for()
    assert page.evaluate("document.querySelector('.threadlog-layer').shadowRoot.activeElement.id").endswith("title")
    tab_until(page, lambda: active(page).endswith(":: Reply"))
    keys.press("Enter")
    keys.type("A reply from the keyboard.")
    keys.press("Tab")
    keys.type("Kim Keys")
    keys.press("Tab")
    assert active(page).endswith(":: Post Reply")
    keys.press("Enter")
    dialog.locator(".tlf-body", has_text="A reply from the keyboard.").wait_for()
    keys.press("Escape")
    assert dialog.get_attribute("open") is None
    assert active(page).startswith("threadlog-badge")
    assert "A reply from the keyboard." in page.locator(".tl-list").inner_text()


def test_anchoring_module(inline_site, reader):
    """anchoring.js on its own: the normalised text, selectors, and locate's three steps (quote with context,
    position hint, fuzzy match), and the fuzzy matcher's limits."""
    r = reader()
    r.page.goto(inline_site.url + "/healthz")
    got = r.page.evaluate("""async () => {
        const m = await import('/static/threadlog/anchoring.js');
        document.body.innerHTML = '<article id="a"><h1>Title</h1><p id="x">  One   six\\n two.</p>'
            + '<p id="y">Six o\\'clock: <em>six</em> it is. And six again.</p><script>ignored()</script></article>';
        const root = document.getElementById('a');
        const map = new m.TextMap(root);
        const out = {text: map.text};
        const em = root.querySelector('em').firstChild;
        const range = document.createRange();
        range.setStart(em, 0); range.setEnd(em, 3);
        out.described = m.describe(map, range);
        out.roundTrip = map.range(out.described.start, out.described.end).toString();
        const at = (a) => { const p = m.locate(map, a); return p && [map.text.slice(p.start, p.end), p.start, p.how]; };
        out.withContext = at({exact: 'six', prefix: "Six o'clock: ", suffix: ' it is'});
        out.byHint = at({exact: 'six', prefix: 'zzz', suffix: 'qqq', start: map.text.lastIndexOf('six')});
        out.quoteOnly = at({exact: 'six', prefix: 'zzz', suffix: 'qqq'});
        out.fuzzy = at({exact: 'And sux agian.', start: 3});
        out.gone = at({exact: 'Completely different words here', start: 3});
        out.short = at({exact: 'sox'});
        out.search = m.fuzzySearch('the quick brown fox', 'quikc brown', 3);
        out.none = m.fuzzySearch('the quick brown fox', 'lazy dog', 2);
        return out;
    }""")
    assert got["text"] == "Title One six two. Six o'clock: six it is. And six again."
    assert got["described"] == {"exact": "six", "prefix": "Title One six two. Six o'clock: ", "suffix": " it is. And six again.",
                                "start": 32, "end": 35, "container": "y"}
    assert got["roundTrip"] == "six"
    assert got["withContext"] == ["six", 32, "quote"]
    assert got["byHint"] == ["six", 47, "position"]
    assert got["quoteOnly"] == ["six", 10, "quote"]
    assert got["fuzzy"][0] == "And six again." and got["fuzzy"][2] == "fuzzy"
    assert got["gone"] is None and got["short"] is None
    assert got["search"] == {"start": 4, "end": 15, "errors": 2}
    assert got["none"] is None
