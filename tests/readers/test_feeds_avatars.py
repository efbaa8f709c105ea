"""Atom feeds (parsed by feedparser) and identicons, through HTTP."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import feedparser

from threadlog.readers.avatars import NAME, colours, contrast


def _post(api, key, body, name="Ann", **extra):
    response = api.post(f"/api/threads/{key}/comments", {"body": body, "author_name": name, **extra})
    assert response.status_code == 201, response.content
    return response.json()["comment"]


def test_thread_feed_is_valid_atom_with_escaped_bodies(api, key):
    first = _post(api, key, "**hello** <script>alert(1)</script> & more", title="A <b>title</b>")
    second = _post(api, key, "second", name="Bob <i>")
    gone = _post(api, key, "deleted soon")
    api.delete(f"/api/comments/{gone['id']}")
    response = api.get(f"/t/{key}/feed.atom")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    ET.fromstring(response.content)  # well-formed XML
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "Comments on A <b>title</b>"
    entries = feed.entries
    assert [e.id for e in entries] == [f"urn:uuid:{second['id']}", f"urn:uuid:{first['id']}"]  # newest first
    assert entries[0].author == "Bob <i>" and entries[0].link.endswith(f"/t/{key}#comment-{second['id']}")
    raw = response.content.decode()
    assert "<script>" not in raw and "&lt;strong&gt;" in raw  # the sanitised HTML, escaped in the XML
    assert entries[1].summary == "<p><strong>hello</strong> &lt;script&gt;alert(1)&lt;/script&gt; &amp; more</p>"
    assert entries[1].updated and entries[1].published
    etag = response["ETag"]
    assert api.client.get(f"/t/{key}/feed.atom", HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert api.get(f"/t/never-{key}/feed.atom").status_code == 404
    assert api.get("/t/bad key/feed.atom").status_code == 404


def test_feed_keeps_the_newest_fifty(api, key):
    for i in range(53):
        _post(api, key, f"c{i}")
    entries = feedparser.parse(api.get(f"/t/{key}/feed.atom").content).entries
    assert len(entries) == 50 and entries[0].summary == "<p>c52</p>" and entries[-1].summary == "<p>c3</p>"


def test_site_feed_spans_threads_and_shows_erased_names(api, key, settings):
    from django.contrib.auth import get_user_model

    a = _post(api, key, "in a")
    b = _post(api, key + "-2", "in b", name="Eve")
    feed = feedparser.parse(api.get("/feed.atom").content)
    assert not feed.bozo and feed.version == "atom10"
    ids = [e.id for e in feed.entries]
    assert ids.index(f"urn:uuid:{b['id']}") < ids.index(f"urn:uuid:{a['id']}")
    # erase Eve (staff command through the CLI's handler)
    from events.people import ERASED
    from projections.models import CommentView
    from threadlog.commands import handle
    from threadlog.commands.handlers import Actor
    from threadlog.commands.messages import ErasePerson

    person = CommentView.objects.get(id=b["id"]).author_id
    handle(ErasePerson(person=person), Actor("user:staff", is_staff=True))
    feed = feedparser.parse(api.get("/feed.atom").content)
    entry = next(e for e in feed.entries if e.id == f"urn:uuid:{b['id']}")
    assert entry.author == ERASED and "Eve" not in api.get("/feed.atom").content.decode()
    assert get_user_model()  # the auth app is there (staff erasure is a staff action)


def test_avatars_are_stable_identicons_without_the_email(api, key):
    one = _post(api, key, "one", author_email="ann@example.org")
    two = _post(api, key, "two")
    other = make_other = api.__class__()
    three = _post(other, key, "three")
    assert one["avatar"] == two["avatar"] != three["avatar"]
    assert re.fullmatch(r"/avatars/[0-9a-f]{20}\.svg", one["avatar"])
    assert "ann" not in one["avatar"] and make_other
    response = api.get(one["avatar"])
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    ET.fromstring(svg)
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    assert "immutable" in response["Cache-Control"] and response["ETag"]
    assert api.client.get(one["avatar"], HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert api.get(one["avatar"]).content == response.content  # stable
    assert api.get("/avatars/nothex.svg").status_code == 404
    page = api.comments(key)
    assert [c["avatar"] for c in page["comments"]] == [one["avatar"], two["avatar"], three["avatar"]]
    api.delete(f"/api/comments/{two['id']}")
    assert api.comments(key)["comments"][1:] == [] or all(c["id"] != two["id"] for c in api.comments(key)["comments"])


def test_identicon_colours_have_good_contrast():
    import colorsys  # noqa: F401
    import hashlib

    for i in range(500):
        name = hashlib.sha256(str(i).encode()).hexdigest()[:20]
        assert NAME.match(name)
        fg, bg = colours(name)
        rgb = lambda h: tuple(int(h[j:j + 2], 16) / 255 for j in (1, 3, 5))  # noqa: E731
        assert contrast(rgb(fg), rgb(bg)) >= 4.4, (name, fg, bg)
