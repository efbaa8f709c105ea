"""Comment bodies -> HTML: escaped, linked with rel="nofollow ugc noopener", and the fast path for bodies
without links gives exactly what the sanitised path gives."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.render import render_body, render_sanitised

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)
TRICKY = st.lists(st.sampled_from(["<", ">", "&", "'", '"', "\n", "\n\n", " ", "\u00a0", "\t", "a", "é", "€",
                                   "<script>", "&amp;", "&#39;", "\r\n", "😀", "\u200b"]), max_size=60).map("".join)


# Bodies with links, well-formed or not: the fast path builds the anchors itself where nh3 would keep the href.
HOSTS = st.lists(st.sampled_from(["example", "org", "a", "b-c", "x1", "1", "-", "", "xn--", "0x1f", "é", "Www"]),
                 min_size=1, max_size=3).map(".".join)
URL_TAIL = st.lists(st.sampled_from(["/", "?", "#", "a", "&", "=", "%", "%zz", "(", ")", ".", ",", "!", "é", "{", "|",
                                     "\\", "[", "]", "@", ":", ";", "&amp;", "\x01", "\u200b", "\u0085"]),
                    max_size=10).map("".join)
URLS = st.builds(lambda s, h, p, t: s + h + p + t, st.sampled_from(["http://", "https://", "HTTPS://"]), HOSTS,
                 st.sampled_from(["", ":80", ":99999", ":"]), URL_TAIL)
LINKED = st.lists(st.one_of(URLS, TRICKY), min_size=1, max_size=6).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(TEXT, TRICKY, LINKED))
def test_fast_path_equals_the_sanitised_path(text):
    assert render_body(text) == render_sanitised(text)


def test_markup_is_text_and_links_are_marked():
    out = render_body('<img src=x onerror=alert(1)> see https://example.org/a?b=1&c=2. "quoted"')
    assert "<img" not in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow ugc noopener">' in out
    assert out.endswith('. "quoted"</p>')


def test_paragraphs_and_line_breaks():
    assert render_body("one\ntwo\n\nthree") == "<p>one<br>two</p><p>three</p>"
    assert render_body("  \n\n ") == ""


def test_javascript_urls_are_not_linked():
    assert "<a" not in render_body("javascript:alert(1)")
