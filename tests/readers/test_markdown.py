"""Markdown bodies: the subset, its safety against hostile input, and the short cut for bodies without Markdown."""
from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.markdown import render_markdown, render_markdown_sanitised
from projections.render import render, render_body

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
PIECES = st.lists(st.sampled_from([
    "a", "word", " ", "  ", "\n", "\n\n", "\t", "\u00a0", "*", "**", "_", "`", "```", ">", "> ", "- ", "+ ", "1. ",
    "2) ", "#", "# ", "[x](http://e.org)", "<", "&", "&amp;", "&#39;", "!", "~", "~~~", "|", "=", "---", "\\",
    "http://e.org/a_b", "https://x.y/(z)", ".", ",", ")", "'", '"', "é", "😀", "\r\n", "    ",
]), max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(TEXT, PIECES))
def test_the_short_cut_equals_markdown_it(text):
    assert render_markdown(text) == render_markdown_sanitised(text)


@pytest.mark.parametrize("text", [".HTTP://0", ".http://e.org", "a+http://e.org", "x-https://e.org/a", "_http://e.org",
                                  "éhttp://e.org", "see (http://e.org).", "1.http://e.org"])
def test_a_url_after_punctuation_or_a_letter_is_linked_as_markdown_it_links_it(text):
    # The plain format links after a word boundary, markdown-it after anything but [A-Za-z0-9.+-]: found by
    # hypothesis, such a body no longer takes the plain short cut.
    assert render_markdown(text) == render_markdown_sanitised(text)


def test_text_without_markdown_renders_as_plain_text_did():
    for text in ["Hello <b>world</b>\n\nsee https://example.org/x.", "one\ntwo\n\nthree", "Q&A: you & me > them",
                 "5 > 3 and 2 < 4", "wow!", "a|b"]:
        assert render(text, "markdown") == render_body(text) == render(text, "plain")


@pytest.mark.parametrize("source, html", [
    ("**bold** and *italic* and `code`", "<p><strong>bold</strong> and <em>italic</em> and <code>code</code></p>"),
    ("> quoted\n\nreply", "<blockquote><p>quoted</p></blockquote><p>reply</p>"),
    ("- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
    ("3. c\n4. d", '<ol start="3"><li>c</li><li>d</li></ol>'),
    ("```\n<b>x</b>\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>"),
    ("[site](https://example.org/a)",
     '<p><a href="https://example.org/a" rel="nofollow ugc noopener">site</a></p>'),
    ("<https://example.org/b>",
     '<p><a href="https://example.org/b" rel="nofollow ugc noopener">https://example.org/b</a></p>'),
    ("see https://example.org/a_b_c_d.",
     '<p>see <a href="https://example.org/a_b_c_d" rel="nofollow ugc noopener">https://example.org/a_b_c_d</a>.</p>'),
    ("line one\nline two", "<p>line one<br>line two</p>"),
    ("# not a heading", "<p># not a heading</p>"),
])
def test_the_subset(source, html):
    assert render(source, "markdown") == html


HOSTILE = {
    "javascript link": "[click](javascript:alert(1)) [x](JaVaScRiPt:alert(1)) [d](data:text/html,<script>)",
    "autolink javascript": "<javascript:alert(1)>",
    "raw html": '<script>alert(1)</script><img src=x onerror=alert(1)><iframe src="https://e.org"></iframe>',
    "html in code": "`<script>alert(1)</script>` and\n```\n<img src=x onerror=alert(1)>\n```",
    "image": "![alt](https://tracker.example/pixel.png)",
    "attribute injection": '[x](https://e.org/" onmouseover="alert(1))',
    "entity tricks": "&lt;script&gt; &#60;script&#62; &#x3C;img&#x3E;",
    "nested quotes 1000 deep": ">" * 1000 + " deep",
    "nested lists": "- " * 1000 + "x",
    "list 10000 items": "\n".join("- item" for _ in range(10_000)),
    "emphasis storm": "*_" * 5000,
    "brackets storm": "[" * 5000 + "](" * 2500,
}


ALLOWED = {"p": set(), "br": set(), "strong": set(), "em": set(), "code": set(), "pre": set(),
           "blockquote": set(), "ul": set(), "ol": {"start"}, "li": set(), "a": {"href", "rel"}}


class _Elements(HTMLParser):
    """Every start tag and its attributes, as a browser's parser would see them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.seen: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, dict(attrs)))


def assert_safe(out: str) -> None:
    parser = _Elements()
    parser.feed(out)
    parser.close()
    for tag, attrs in parser.seen:
        assert tag in ALLOWED and set(attrs) <= ALLOWED[tag], (tag, attrs)
        if tag == "a":
            assert attrs["rel"] == "nofollow ugc noopener"
            if "href" in attrs:
                assert attrs["href"].startswith(("http://", "https://")), attrs


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_markdown_is_rendered_safely(name):
    out = render(HOSTILE[name], "markdown")
    assert_safe(out)
    assert out.count("<blockquote>") <= 20 and out.count("<ul>") <= 20  # nesting is bounded


def test_quotes_deeper_than_the_limit_keep_their_text():
    out = render(">" * 1000 + " deep", "markdown")
    assert out.count("<blockquote>") == 16 and out.endswith("&gt;" * 984 + " deep</p>" + "</blockquote>" * 16)
    assert render("> > a", "markdown") == "<blockquote><blockquote><p>a</p></blockquote></blockquote>"


@settings(max_examples=300, deadline=None)
@given(st.one_of(TEXT, PIECES))
def test_anything_is_safe(text):
    assert_safe(render(text, "markdown"))


def test_links_get_rel_and_no_images():
    out = render("[a](https://e.org) ![b](https://e.org/b.png)", "markdown")
    assert out.count('rel="nofollow ugc noopener"') == 2 and "<img" not in out
