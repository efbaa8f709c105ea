"""A reader with a keyboard and nothing else — Tab, Shift+Tab, Enter, Escape, and typing into the fields: posts a
comment, votes, replies, sorts, expands a folded branch and opens the "N new" bubble. At every step the focused
element shows a focus ring, is on screen, and Tab moves forward in document order (Shift+Tab backward).

Run alone: `.venv/bin/pytest tests/browser/test_keyboard.py` (README: "Checkers")."""
from __future__ import annotations

import pytest

from tests.conftest import unique_key

from .conftest import post_comment

pytestmark = pytest.mark.browser

# The focused element (inside shadow roots too), whether a focus indicator is drawn, whether it is on screen, and
# where it sits relative to the element focused before (document order).
FOCUS = """(backward) => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || (s.boxShadow && s.boxShadow !== 'none');
  const prev = window.__tlPrevFocus;
  let order = 'first';
  if (prev && prev !== el && prev.isConnected && prev.getRootNode() === el.getRootNode()) {
    const pos = prev.compareDocumentPosition(el);
    const forward = (pos & Node.DOCUMENT_POSITION_FOLLOWING) || (pos & Node.DOCUMENT_POSITION_CONTAINED_BY);
    order = (backward ? !forward : forward) ? 'ok' : 'wrong';
  }
  window.__tlPrevFocus = el;
  return {
    tag: el.tagName.toLowerCase(), cls: typeof el.className === 'string' ? el.className : '',
    action: (el.dataset && (el.dataset.action || el.dataset.sort)) || '', id: el.id || '',
    text: (el.getAttribute('aria-label') || el.textContent || el.name || '').trim().slice(0, 60),
    ring, order, w: r.width, h: r.height, onScreen: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
    pressed: el.getAttribute('aria-pressed'), selected: el.getAttribute('aria-selected'),
    expanded: el.getAttribute('aria-expanded'),
  };
}"""


class Keyboard:
    def __init__(self, page):
        self.page = page
        self.walked: list[dict] = []

    def press(self, key: str) -> dict | None:
        assert key in ("Tab", "Shift+Tab", "Enter", "Escape"), key
        self.page.keyboard.press(key)
        self.page.wait_for_timeout(30)  # scrolling into view and focus styles settle
        return self.focus(backward=key == "Shift+Tab", moved=key in ("Tab", "Shift+Tab"))

    def focus(self, backward: bool = False, moved: bool = False) -> dict | None:
        info = self.page.evaluate(FOCUS, backward)
        if info is not None:
            self.walked.append(info)
            where = f"{info['tag']}.{info['cls']} {info['text']!r}"
            assert info["ring"], f"no visible focus indicator on {where}"
            assert info["w"] > 0 and info["h"] > 0 and info["onScreen"], f"focus on something not on screen: {where}"
            wrapped = not backward and info["cls"] == "skip"  # past the last stop, Tab comes round to the first
            if moved and not wrapped:
                assert info["order"] != "wrong", f"{'Shift+' if backward else ''}Tab went the wrong way to {where}"
        return info

    def tab_to(self, matches, limit: int = 250, backward: bool = False) -> dict:
        for _ in range(limit):
            info = self.press("Shift+Tab" if backward else "Tab")
            if info is not None and matches(info):
                return info
        raise AssertionError(f"never reached; the last stops: {[(w['tag'], w['text']) for w in self.walked[-12:]]}")

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)


def test_post_vote_reply_sort_expand_and_bubble_with_the_keyboard_only(site, reader):
    key = unique_key("keys")
    first = post_comment(site, key, "The first comment, to vote on.", "Ada")
    parent = first
    for depth in range(1, 6):  # a branch deeper than the page unfolds
        parent = post_comment(site, key, f"Depth {depth} below the first.", f"Level {depth}", parent_id=parent["id"])
    r = reader(f"{site.url}/t/{key}", width=1280, height=700)
    page = r.page
    keys = Keyboard(page)

    # The skip link comes first and leads to the comments.
    skip = keys.press("Tab")
    assert skip and skip["text"] == "Skip to comments"

    # Post: the comment field, the name, then the submit button.
    keys.tab_to(lambda f: f["tag"] == "textarea")
    keys.type("Typed with the keyboard alone.")
    keys.tab_to(lambda f: f["tag"] == "input" and "name" in f["text"].lower() or f["id"].endswith("name"))
    keys.type("Kai Keys")
    keys.tab_to(lambda f: f["tag"] == "button" and f["cls"].startswith("tl-btn tl-primary"))
    keys.press("Enter")
    r.box_with("Typed with the keyboard alone.").wait_for()

    # Vote: the next upvote button (the new comment's: the focus went to it once posted), Enter, pressed.
    keys.tab_to(lambda f: f["action"] == "up")
    keys.press("Enter")
    page.locator(".tl-up[aria-pressed=true]").wait_for()
    focused = keys.focus()
    assert focused and focused["action"] == "up", focused  # the focus stays where it was

    # Reply to it: Enter on Reply opens the form under it with the focus in the text; Escape puts it back,
    # then again and post.
    keys.tab_to(lambda f: f["action"] == "reply")
    keys.press("Enter")
    focused = keys.focus()
    assert focused and focused["tag"] == "textarea", focused
    assert page.locator(".tl-list .tl-form").count() == 1
    keys.press("Escape")
    assert page.locator(".tl-list .tl-form").count() == 0
    back = keys.focus()
    assert back and back["action"] == "reply", back  # the focus returns to the Reply button
    keys.press("Enter")
    keys.type("A keyboard reply.")
    keys.tab_to(lambda f: f["tag"] == "button" and f["cls"].startswith("tl-btn tl-primary"))
    keys.press("Enter")
    r.box_with("A keyboard reply.").wait_for()

    # Expand the folded branch.
    expand = keys.tab_to(lambda f: f["action"] == "expand")
    assert expand["expanded"] == "false"
    keys.press("Enter")
    r.box_with("Depth 5 below the first.").wait_for()
    assert page.locator(".tl-expand[aria-expanded=true]").count() == 1
    unfolded = keys.focus()  # the focus moves to the first reply it unfolded, on screen
    assert unfolded and unfolded["tag"] == "article" and "Level 4" in page.evaluate(
        "() => document.activeElement.textContent"), unfolded

    # The bubble: something new arrives below, out of sight; Tab to the bubble, Enter jumps to it.
    post_comment(site, key, "Arrived while the keyboard reader was busy.", "Newcomer")
    page.locator(".tl-badge").filter(has_text="new").wait_for()
    keys.tab_to(lambda f: f["action"] == "bubble")
    keys.press("Enter")
    newest = r.box_with("Arrived while the keyboard reader was busy.")
    page.wait_for_function("el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }",
                           arg=newest.element_handle())
    # Sort: back up to the sort tabs with Shift+Tab, Enter on "Newest".
    keys.tab_to(lambda f: f["action"] == "newest", backward=True)
    keys.press("Enter")
    page.wait_for_function("() => document.querySelector('.tl-tab[data-sort=newest]').getAttribute('aria-selected') === 'true'")
    page.wait_for_function("() => document.querySelector('.tl-list > .tl-c .tl-body').textContent.includes('Arrived while')")

    assert len(keys.walked) > 20
