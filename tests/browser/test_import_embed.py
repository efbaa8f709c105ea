"""An imported thread on its original page: the embed derives the page's key (query included) and shows it.

Also: the embed's key derivation (threadkey.js) gives the importer's keys (imports/thread_key.py) for the same
URLs, and the staff upload page at desktop and 360 px.
"""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from tests.browser.conftest import EMBEDDER
from tests.conftest import ROOT
from tests.imports.conftest import fixture_bytes

pytestmark = pytest.mark.browser


def test_embed_on_the_original_url_shows_the_imported_thread(site, embedder, reader, artifacts, tmp_path):
    prefix = f"p{uuid.uuid4().hex[:8]}"
    wxr = fixture_bytes("wordpress.xml", prefix).replace(b"https://news.example.org", EMBEDDER.encode())
    path = tmp_path / "export.xml"
    path.write_bytes(wxr)
    done = site.cli("import-comments", str(path))
    assert "2 new threads" in done.stdout
    r = reader(f"{embedder}/{prefix}/?p=4")
    page = r.page
    assert page.locator(".threadlog-embed").get_attribute("data-thread") == f"q.~{prefix}~.3Fp.3D4"
    r.box_with("Endlich! Der Radweg war überfällig.").wait_for()
    r.box_with("Bitte sachlich bleiben.").wait_for()
    assert r.top_authors()[0] == "Jürgen Weiß"
    body = r.box_with("Stimmt nicht ganz").locator(".tl-body")
    assert body.locator("a").get_attribute("href") == "https://example.org/rat"
    assert "Der Radweg kommt erst 2021." in body.inner_text()
    first = page.locator(".tl-list > .tl-c").first
    assert "2019" in first.locator("time").first.get_attribute("datetime")
    page.screenshot(path=str(artifacts / "import-embed.png"), full_page=True)
    # A reader's vote on an imported comment counts once, beside the imported ones.
    r.post("A new comment under the imported ones.", name="Live Reader")


CASES = ["/", "/news/story", "/a b/ü", "/?p=4", "/?p=4&lang=de", "/x/?", "/?q=ä ö", "/?" + "long=" + "y" * 300,
         "/PATH.with~odd-chars/?a=.~%41"]


def test_embed_and_importer_derive_the_same_keys(site, embedder, reader):
    from threadlog.imports.thread_key import key_for_url

    r = reader()
    r.page.goto(f"{embedder}/keys")
    derived = r.page.evaluate("""async ([origin, cases]) => {
        const m = await import(origin + '/static/threadlog/threadkey.js');
        return cases.map((c) => { const u = new URL(c, 'http://example.test'); return m.threadKey(u); });
    }""", [site.url, CASES])
    assert derived == [key_for_url("http://example.test" + c) for c in CASES]
    assert derived[0] == "~" and derived[1] == "~news~story"  # keys of paths without a query as before
    assert derived[3] == "q.~.3Fp.3D4" and derived[5] == "~x~"  # an empty query is no query
    assert derived[7].startswith("h.") and len(derived[7]) == 66
    assert len(set(derived)) == len(derived)


def test_admin_upload_page_desktop_and_360px(site, browser, artifacts, tmp_path):
    user = f"staff{uuid.uuid4().hex[:6]}"
    subprocess.run([sys.executable, "manage.py", "createsuperuser", "--noinput", "--username", user, "--email",
                    "s@example.org"], env={**site.env, "DJANGO_SUPERUSER_PASSWORD": "pw-for-tests-1"}, cwd=ROOT,
                   check=True, capture_output=True)
    prefix = f"p{uuid.uuid4().hex[:8]}"
    path = tmp_path / "export.json"
    path.write_bytes(fixture_bytes("isso.json", prefix))
    for width, name in ((1280, "import-admin.png"), (360, "import-admin-360.png")):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{site.url}/admin/login/?next=/admin/import-comments/")
        page.fill("#id_username", user)
        page.fill("#id_password", "pw-for-tests-1")
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/import-comments/")
        page.set_input_files("#id_file", str(path))
        if width == 360:
            page.check("#id_dry_run")
        page.click("input[type=submit][value=Import]")
        summary = page.locator(".import-summary")
        summary.wait_for()
        text = summary.inner_text()
        assert "comments" in text and "skipped 1: unapproved (no moderation)" in text
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        page.screenshot(path=str(artifacts / name), full_page=True)
        context.close()
