"""The auditor's workbench in real Chromium, signed in as staff: every page at 1280 and 360 px without template
source or sideways scrolling, the thread's travel controls (slider, buttons, keys, date-time picker,
permalink), the chain status (copy, anchor form, red banner), the event list (filters, paging, export), the
comment history, the actor page, and the "history" link on the reader's page; axe-core finds no violation on
any audit page. Screenshots: test-artifacts/."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.audit.test_chain import SqliteDb
from tests.conftest import ROOT, VENV_BIN, Server, unique_key

pytestmark = pytest.mark.browser

PASSWORD = "audit-pass-123"
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S|<style|\sstyle=|\son[a-z]+=", re.I)
WIDTHS = ((1280, "desktop"), (360, "360px"))
AXE = Axe()


@pytest.fixture(scope="module")
def audit_site(tmp_path_factory):
    """A server of its own (a test alters its log behind its back), with the demo thread and a staff user."""
    tmp = tmp_path_factory.mktemp("audit-site")
    server = Server(tmp, demo=True)
    env = {**server.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}
    subprocess.run([str(VENV_BIN / "python"), "manage.py", "createsuperuser", "--noinput", "--username", "auditor",
                    "--email", "auditor@example.org"], env=env, cwd=ROOT, check=True, capture_output=True)
    server.db = SqliteDb(str(tmp / "server.sqlite3"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def staff(reader, audit_site):
    """A signed-in staff reader: make(width) -> Reader on /audit/."""

    def make(width: int = 1280):
        r = reader(width=width)
        r.page.goto(f"{audit_site.url}/admin/login/?next=/audit/")
        r.page.get_by_label("Username").fill("auditor")
        r.page.get_by_label("Password").fill(PASSWORD)
        r.page.get_by_role("button", name="Log in").click()
        r.page.wait_for_url("**/audit/")
        return r

    return make


def write(r, server: Server, method: str, path: str, payload: dict | None = None) -> dict:
    response = r.context.request.fetch(server.url + path, method=method, data=json.dumps(payload or {}),
                                       headers={"Content-Type": "application/json", "Origin": server.url})
    assert response.ok, response.text()
    return response.json()


@pytest.fixture(scope="module")
def story_key():
    return unique_key("audit")


def tell_story(r, server: Server, key: str) -> dict:
    """A thread with a post, a reply, an edit, a vote and a deletion, written through the API as staff."""
    if r.context.request.get(f"{server.url}/api/threads/{key}").ok:
        events = r.context.request.get(f"{server.url}/api/events?thread={key}").json()["events"]
        return {"positions": [e["position"] for e in events], "first": events[1]["data"]["comment_id"]}
    first = write(r, server, "POST", f"/api/threads/{key}/comments",
                  {"body": "The reading room should open until nine.", "author_name": "Ada Auditee", "title": "Audit story"})
    reply = write(r, server, "POST", f"/api/threads/{key}/comments",
                  {"body": "Agreed, " + "and a very long word: " + "x" * 300, "author_name": "Bo",
                   "parent_id": first["comment"]["id"]})
    write(r, server, "PATCH", f"/api/comments/{first['comment']['id']}",
          {"body": "The reading room should open until ten."})
    write(r, server, "POST", f"/api/comments/{first['comment']['id']}/vote", {"value": 1})
    write(r, server, "DELETE", f"/api/comments/{reply['comment']['id']}")
    events = r.context.request.get(f"{server.url}/api/events?thread={key}").json()["events"]
    return {"positions": [e["position"] for e in events], "first": first["comment"]["id"]}


def check_page(r, url: str, name: str, artifacts) -> str:
    """Open `url` at the reader's width: no template source, no inline style or script, no axe-core violation,
    no sideways scroll; screenshot it."""
    response = r.page.goto(url)
    assert response.status < 500
    html = r.page.content()
    assert "{{" not in html and "{%" not in html, f"template source on {url}"
    assert not INLINE.search(html), f"inline style or handler on {url} (the Content-Security-Policy blocks them)"
    width = r.page.viewport_size["width"]
    violations = AXE.run(r.page).response["violations"]
    assert not violations, [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    overflow = r.page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{url} scrolls sideways at {width}px"
    r.page.screenshot(path=str(artifacts / f"audit-{name}-{width}.png"), full_page=False)
    return html


def test_every_audit_page_at_desktop_and_360px(staff, audit_site, story_key, artifacts):
    base = audit_site.url
    r = staff()
    story = tell_story(r, audit_site, story_key)
    pages = {
        "events": "/audit/",
        "events-filtered": f"/audit/?thread={story_key}&type=CommentEdited",
        "chain": "/audit/chain",
        "thread": f"/audit/thread/{story_key}?at={story['positions'][2]}",
        "thread-edit": f"/audit/thread/{story_key}?at={story['positions'][3]}",
        "thread-demo": "/audit/thread/demo",
        "comment": f"/audit/comment/{story['first']}",
        "comment-side": f"/audit/comment/{story['first']}?view=side",
        "actor": "/audit/actor/user:1",
        "not-found": "/audit/comment/no-such-comment",
    }
    for width, _ in WIDTHS:
        r.page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            html = check_page(r, base + path, name, artifacts)
            assert "Chain verified" in html, f"no chain status on {path}"
    r.page.goto(base + "/audit/thread/demo")  # replies sit under their parents, indented
    margins = [r.page.locator(f"ol.tree .depth-{d}").first.evaluate("el => parseFloat(getComputedStyle(el).marginLeft)")
               for d in (0, 1, 2)]
    assert margins[0] < margins[1] < margins[2], margins


def test_thread_travel_slider_buttons_keys_picker_and_permalink(staff, audit_site, story_key, artifacts):
    r = staff()
    story = tell_story(r, audit_site, story_key)
    p = story["positions"]  # opened, posted, replied, edited, voted, deleted
    page = r.page
    page.goto(f"{audit_site.url}/audit/thread/{story_key}")
    assert f"Step {len(p)} of {len(p)}" in page.locator("main").inner_text()
    change = page.locator(".change")
    assert change.first.get_attribute("class") == "change k-deleted" and "deleted by" in change.first.inner_text()

    page.get_by_role("link", name="← Previous").click()  # the vote
    page.wait_for_url(f"**?at={p[4]}")
    assert "voted up" in page.locator(".change").inner_text()
    page.keyboard.press("ArrowLeft")  # the edit, in colour and words with the text diff
    page.wait_for_url(f"**?at={p[3]}")
    edited = page.locator(".change.k-edited")
    assert edited.locator("del.d-del").inner_text().strip() == "nine."
    assert edited.locator("ins.d-ins").inner_text().strip() == "ten."
    page.screenshot(path=str(artifacts / "audit-thread-travel-1280.png"))
    page.keyboard.press("ArrowRight")
    page.wait_for_url(f"**?at={p[4]}")
    page.get_by_role("link", name="Next →").click()
    page.wait_for_url(f"**?at={p[5]}")

    slider = page.get_by_label("Step (1–6)")
    slider.focus()
    slider.press("Home")  # the slider's own keys move it; letting go travels
    page.wait_for_url("**?step=1")
    assert "thread opened" in page.locator(".change").inner_text()
    assert "No comments yet." in page.locator("ol.tree").inner_text()
    slider = page.get_by_label("Step (1–6)")
    slider.fill("3")  # as a drag ending on step 3 does
    page.wait_for_url("**?step=3")
    assert "Bo posted a reply" in page.locator(".change").inner_text()
    permalink = page.locator("#permalink").get_attribute("href")
    assert permalink == f"?at={p[2]}"

    page.get_by_label("As it stood at (UTC)").fill("2099-01-01T00:00:00")  # after everything: the latest step
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**time=*")
    assert f"Step {len(p)} of {len(p)} · position {p[5]}" in page.locator("main").inner_text()
    page.get_by_label("As it stood at (UTC)").fill("2000-01-01T00:00:00")  # before the thread: its first step
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**time=2000*")
    assert "the thread did not exist before" in page.locator("main").inner_text()

    page.goto(f"{audit_site.url}/audit/thread/{story_key}{permalink}")  # the permalink shows that state again
    assert "Bo posted a reply" in page.locator(".change").inner_text()


def test_chain_status_copy_anchor_and_red_banner(staff, audit_site, artifacts):
    r = staff()
    r.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=audit_site.url)
    page = r.page
    page.goto(f"{audit_site.url}/audit/chain")
    status = page.get_by_role("region", name="Hash chain status")
    assert "Chain verified through position" in status.inner_text()
    head = r.context.request.get(f"{audit_site.url}/healthz").json()["head"]
    hash_ = page.locator("#head-hash").input_value()
    assert len(hash_) == 64 and f"position {head}" in status.inner_text()
    page.get_by_role("button", name="Copy head hash").click()
    page.locator(".copied", has_text="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == hash_

    page.get_by_label("Position").fill(str(head))
    page.get_by_label("Hash", exact=True).fill(hash_)
    page.get_by_role("button", name="Compare").click()
    assert "✓ Matches" in page.locator(".result").inner_text()
    page.screenshot(path=str(artifacts / "audit-anchor-1280.png"))
    page.get_by_label("Hash", exact=True).fill("f" * 64)
    page.get_by_role("button", name="Compare").click()
    assert "✗ Does not match" in page.locator(".result").inner_text()

    # A new event altered behind the app's back: the next page names its position in a red banner.
    key = unique_key("tamper")
    posted = write(r, audit_site, "POST", f"/api/threads/{key}/comments", {"body": "honest", "author_name": "T"})
    position = posted["position"]
    db = audit_site.db
    db.unguarded("UPDATE threadlog_events SET data = replace(data, 'honest', 'forged') WHERE position = ?", [position])
    try:
        for width, _ in WIDTHS:
            page.set_viewport_size({"width": width, "height": 700})
            page.goto(f"{audit_site.url}/audit/")
            banner = page.get_by_role("alert")
            assert f"does not verify at position {position}" in banner.inner_text()
            page.screenshot(path=str(artifacts / f"audit-broken-chain-{width}.png"))
    finally:
        db.unguarded("UPDATE threadlog_events SET data = replace(data, 'forged', 'honest') WHERE position = ?",
                     [position])
    page.goto(f"{audit_site.url}/audit/")
    assert "Chain verified" in page.get_by_role("region", name="Hash chain status").inner_text()

    # An old row altered: the pages check only new rows, `threadlog audit verify` walks them all and tells them.
    [(recorded,)] = db.execute("SELECT recorded_at FROM threadlog_events WHERE position = 2")
    db.unguarded("UPDATE threadlog_events SET recorded_at = '1999-01-01T00:00:00.000000Z' WHERE position = 2")
    try:
        result = audit_site.cli("audit", "verify", check=False)
        assert result.returncode == 1 and "position 2" in result.stderr
        page.goto(f"{audit_site.url}/audit/chain")
        assert "does not verify at position 2" in page.get_by_role("alert").first.inner_text()
    finally:
        db.unguarded("UPDATE threadlog_events SET recorded_at = ? WHERE position = 2", [recorded])
    assert audit_site.cli("audit", "verify", check=False).returncode == 0
    page.goto(f"{audit_site.url}/audit/chain")
    assert "Chain verified" in page.get_by_role("region", name="Hash chain status").inner_text()


def test_events_list_filters_paging_links_and_export(staff, audit_site, story_key, artifacts):
    r = staff()
    story = tell_story(r, audit_site, story_key)
    page = r.page
    page.goto(f"{audit_site.url}/audit/?size=10")
    page.get_by_label("Thread", exact=True).fill("demo")
    page.get_by_label("Type").select_option("VoteCast")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**type=VoteCast*")
    rows = page.locator("table.events tbody tr")
    assert rows.count() == 10 and set(rows.locator("td:nth-child(4)").all_inner_texts()) == {"VoteCast"}
    assert page.locator("[aria-disabled=true]", has_text="Earlier").count() == 1
    first_page = rows.locator("td:first-child").all_inner_texts()
    page.get_by_role("link", name="Later →").click()
    page.wait_for_url("**after=*")
    second_page = page.locator("table.events tbody tr td:first-child").all_inner_texts()
    assert int(second_page[0]) > int(first_page[-1])
    page.get_by_role("link", name="← Earlier").click()
    page.wait_for_url("**before=*")
    assert page.locator("table.events tbody tr td:first-child").all_inner_texts() == first_page

    # the JSONL export is the `threadlog export` line of each event in view
    with page.expect_download() as info:
        page.get_by_role("link", name="JSONL").click()
    lines = open(info.value.path(), encoding="utf-8").read().splitlines()
    assert lines and all(json.loads(line)["type"] == "VoteCast" for line in lines)
    exported = audit_site.cli("export").stdout.splitlines()
    assert set(lines) <= set(exported)
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    assert open(info.value.path(), encoding="utf-8").readline().startswith("position,recorded_at,thread,type")

    # text in bodies, then a row's links: the thread at that position and the comment's history
    page.goto(f"{audit_site.url}/audit/")
    page.get_by_label("Text in bodies").fill("UNTIL TEN")
    page.get_by_label("Text in bodies").press("Enter")
    page.wait_for_url("**text=*")
    row = page.locator("table.events tbody tr")
    assert row.count() == 1 and "CommentEdited" in row.inner_text()
    page.screenshot(path=str(artifacts / "audit-events-text-1280.png"))
    row.locator("td:first-child a").click()
    page.wait_for_url(f"**/audit/thread/{story_key}?at={story['positions'][3]}")
    page.go_back()
    page.locator("table.events tbody tr").get_by_role("link", name="history").click()
    page.wait_for_url(f"**/audit/comment/{story['first']}*")

    # keyboard: the filter form and the pager are reachable with Tab
    page.goto(f"{audit_site.url}/audit/")
    page.keyboard.press("Tab")  # the skip link
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_comment_history_and_actor_pages(staff, audit_site, story_key, artifacts):
    r = staff()
    story = tell_story(r, audit_site, story_key)
    page = r.page
    page.goto(f"{audit_site.url}/audit/comment/{story['first']}")
    steps = page.locator("ol.history > li")
    assert [s.split("\n")[0].split(" ")[1] for s in steps.all_inner_texts()][:3] == \
        ["CommentPosted", "CommentEdited", "VoteCast"]
    assert page.locator("ol.history del.d-del").inner_text().strip() == "nine."
    assert page.locator("figure.chart svg").get_attribute("role") == "img"
    assert "1 up, 0 down, score 1" in page.locator("figure.chart figcaption").inner_text()
    page.get_by_role("link", name="side by side").click()
    page.wait_for_url("**view=side")
    assert page.locator(".diff.side h3").all_inner_texts() == ["Before", "After"]

    # the reply with a 300-letter word wraps (it used to widen the page)
    reply_id = r.context.request.get(f"{audit_site.url}/api/events?thread={story_key}").json()["events"][2]["data"]["comment_id"]
    for width, _ in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        check_page(r, f"{audit_site.url}/audit/comment/{reply_id}", "comment-long", artifacts)

    # the actor page: counts by kind and thread, links into the list
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{audit_site.url}/audit/actor/user:1")
    counts = page.get_by_role("region", name="By kind")
    assert "CommentPosted" in counts.inner_text() and "CommentDeleted" in counts.inner_text()
    assert story_key in page.get_by_role("region", name="By thread").inner_text()
    page.get_by_role("link", name="Filter them in the event list").click()
    page.wait_for_url("**actor=user*")

    # an erased guest reads as erased
    guest = r.context.browser.new_context()
    try:
        gp = guest.new_page()
        gp.goto(f"{audit_site.url}/t/{story_key}")
        made = guest.request.post(f"{audit_site.url}/api/threads/{story_key}/comments",
                                  data=json.dumps({"body": "soon forgotten", "author_name": "Forget Me"}),
                                  headers={"Content-Type": "application/json", "Origin": audit_site.url}).json()
    finally:
        guest.close()
    author = [e for e in r.context.request.get(f"{audit_site.url}/api/events?thread={story_key}&limit=1000")
              .json()["events"] if e["type"] == "CommentPosted" and e["data"]["comment_id"] == made["comment"]["id"]]
    actor = author[0]["metadata"]["actor"]
    audit_site.cli("erase-person", actor)
    page.goto(f"{audit_site.url}/audit/actor/{actor}")
    assert "was erased" in page.locator("main").inner_text() and "Forget Me" not in page.content()
    page.screenshot(path=str(artifacts / "audit-actor-erased-1280.png"))


def test_reader_page_history_links_for_staff_only(staff, reader, audit_site, artifacts):
    r = staff()
    r.goto(f"{audit_site.url}/")
    links = r.page.locator(".tl-audit-history")
    links.first.wait_for()
    assert links.count() == r.page.locator(".tl-c").count() == 8
    first_id = r.page.locator(".tl-c").first.get_attribute("data-id")
    r.page.locator(".tl-c").first.locator(".tl-audit-history").first.focus()
    r.page.keyboard.press("Enter")
    r.page.wait_for_url(f"**/audit/comment/{first_id}")
    guest = reader(f"{audit_site.url}/")
    assert guest.page.locator(".tl-audit-history").count() == 0


def test_thread_tree_pages_by_top_level_comments(staff, audit_site, artifacts):
    """A long thread's page draws one page of its tree as it stood then, opening at the branch the step changed."""
    r = staff()
    key = unique_key("audit-long")
    posted = [write(r, audit_site, "POST", f"/api/threads/{key}/comments",
                    {"body": f"Top-level comment number {i}.", "author_name": "Pat", "title": "Long"})
              for i in range(23)]
    write(r, audit_site, "POST", f"/api/threads/{key}/comments",
          {"body": "A reply under the last one.", "author_name": "Quin", "parent_id": posted[-1]["comment"]["id"]})
    page = r.page
    for width, _ in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        html = check_page(r, f"{audit_site.url}/audit/thread/{key}", "thread-paged", artifacts)
        assert "Top-level comment number 22." in html and "Top-level comment number 2." not in html
    tree = page.locator("ol.tree")
    assert page.locator("ol.tree li.changed").inner_text().count("A reply under the last one.") == 1
    page.get_by_role("link", name="← Earlier comments").first.click()
    page.wait_for_url("**back=1*")
    texts = tree.locator(".body").all_inner_texts()
    assert texts[0] == "Top-level comment number 2." and texts[-1] == "Top-level comment number 21."
    page.get_by_role("link", name="« First comments").first.click()
    page.wait_for_url("**from=0*")
    assert tree.locator(".body").first.inner_text() == "Top-level comment number 0."
    page.get_by_role("link", name="Later comments →").first.click()
    page.wait_for_url("**from=*")
    assert tree.locator(".body").first.inner_text() == "Top-level comment number 20."
    page.keyboard.press("ArrowLeft")  # travel keeps working from a page of the tree: one step back
    page.wait_for_url(f"**?at={posted[-1]['position']}")
    assert "Top-level comment number 22." in tree.inner_text() and "A reply under" not in tree.inner_text()


def test_moderation_steps_with_their_reasons(staff, audit_site, artifacts):
    """A moderator's decisions, by the moderation API: the thread page names each, with its reason, in violet;
    the comment's history lists them."""
    r = staff()
    key = unique_key("audit-mod")
    posted = write(r, audit_site, "POST", f"/api/threads/{key}/comments",
                   {"body": "Buy cheap watches here.", "author_name": "Sly", "title": "Moderated"})
    cid = posted["comment"]["id"]
    hidden = write(r, audit_site, "POST", f"/api/comments/{cid}/moderation", {"action": "hide", "reason": "advertising"})
    write(r, audit_site, "POST", f"/api/threads/{key}/moderation", {"action": "close", "reason": "thread went off topic"})
    page = r.page
    for width, _ in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        check_page(r, f"{audit_site.url}/audit/thread/{key}?at={hidden['position']}", "thread-moderation", artifacts)
        change = page.locator(".change.k-moderation")
        assert "CommentHidden" in change.inner_text() and "advertising" in change.inner_text()
        assert "'published' → 'hidden'" in change.inner_text()
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**?at=*")
    closed = page.locator(".change.k-moderation").inner_text()
    assert "closed: False → True" in closed and "thread went off topic" in closed
    page.goto(f"{audit_site.url}/audit/comment/{cid}")
    assert "advertising" in page.locator("ol.history").inner_text()
