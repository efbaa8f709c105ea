"""The simple Markdown short cut (projections.markdown._simple): wherever it answers, it answers exactly what
markdown-it and nh3 answer, byte for byte; it answers for most ordinary bodies, and leaves everything else to them."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections import markdown
from projections.markdown import _simple, render_markdown, render_markdown_sanitised

WORDS = ["event", "sourcing", "keeps", "every", "change", "the", "read", "model", "is", "a", "cache", "you", "can",
         "rebuild", "I", "agree", "see", "x", "2024", "42", "v2", "don't", "it's", "naïve", "café", "Straße", "日本語",
         "Ελλάδα", "😀", "ok", "R2D2", "e-mail", "and/or", "½", "²", "ǅ", "x1y"]
PUNCTUATION = [".", ",", ";", ":", "!", "?", "(", ")", '"', "'", "-", "/", "&", "%", "$", "#", "@", "+", "=", "~",
               "^", "{", "}", "|", "…", "—", "«", "»", "¿", "·"]
# Edge cases the short cut must leave to the full pipeline, or render exactly as it does.
EDGES = [
    "**a*", "*a **b***", "***a***", "__a__", "_a*", "*a_", "a_b_c", "snake_case", "_a_b_c_", "**a****b**", "**a***b*",
    "x*a*_b_", "*a*[b](https://e.org)", "* a*", "*a *", "** a**", "**a **", "*", "**", "_", "___",
    "[a](javascript:x)", '[a](http://x "t")', "[a](http://x 't')", "[a](<http://x>)", "[a]( http://x)",
    "[a](http://x.1)", "[a](http://1.2.3.4)", "[a](http://x.com/(b))", "[a](http://x.com/a;b)", "[a](http://u@x.com)",
    "[a](http://x.com:80/)", "[a](HTTP://x.com)", "[a](http://x.com/%zz)", "[a](http://x.com/%41)",
    "[a](http://x.com?q=1&amp;r=2)", "[a](http://x.com?q=1&r=2)", "[ a ](http://x.com)", "[](http://x.com)",
    "[a]", "[a]: http://x.com", "![a](http://x.com/p.png)", "!", "[", "]", "a]b", "&amp;", "&#39;", "&#x3C;",
    "&copy;", "&copy", "R&D", "& co", "\\*", "\\", "`code`", "``", "<b>", "<http://x.com>", "a<b", "a>b",
    "> q", "- l", "+ l", "* l", "1. n", "2) n", "1984. n", "1984 n", "# h", "## h", "=", "---", "===", "~~~",
    "```", "    code", "\tx", "\u00a0", "\u200b", "\ufeff", "\x00", "\r\n", "\r", "http://e.org", "https://e.org/a_b",
    "www.e.org", "a://b", "mailto:a@b.c", "HTTP://E.ORG", "a  ", "a \n", "  a", "\n", "\n\n", "\n\n\n", "  \n",
    " \n \n", "\u2028", "\u3000", "e\u0301", "**😀**", "*é*", "*½*", "*(a)*", "**a.**", "_é_", "(_a_)", "_a_.",
    '"_a_"', "a_", "_a", "*a*b", "a*b*", "a*b*c", "**a**b**c**",
]


def _url(rng: random.Random) -> str:
    scheme = rng.choice(["https://", "http://", "https://", "HTTPS://", "ftp://", "javascript:", ""])
    labels = [rng.choice(["example", "e", "b-c", "x1", "1", "-", "", "xn--p1ai", "é", "Www", "a" * 64, "org", "com",
                          "io", "0x1f", "co"]) for _ in range(rng.randint(1, 3))]
    port = rng.choice(["", "", "", ":80", ":"])
    tail = "".join(rng.choice(["/", "/a", "/b_c", "?q=1", "&r=2", "#f", "%41", "%zz", "%", "(", ")", ".", ",", "!",
                               "$", "~", "+", "=", "é", "'", '"', " ", "*", ";", "@", ":", "&amp;", "<", ">", "\\", "[",
                               "]"])
                   for _ in range(rng.choice([0, 0, 1, 2, 4, 8])))
    title = rng.choice(["", "", "", "", ' "t"', " 't'", " (t)"])
    return scheme + ".".join(labels) + port + tail + title


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _typical_piece(rng: random.Random) -> str:
    """What most comments are made of: words, everyday punctuation, and the short cut's constructs."""
    r = rng.random()
    if r < 0.55:
        text = _words(rng, rng.randint(1, 8))
        return text + rng.choice(["", "", "", ".", ",", "!", "?", ":", ";"])
    if r < 0.65:
        return "**" + _words(rng, rng.randint(1, 3)) + "**"
    if r < 0.73:
        return "*" + _words(rng, rng.randint(1, 3)) + "*"
    if r < 0.78:
        return "_" + _words(rng, rng.randint(1, 3)) + "_"
    if r < 0.88:
        host = rng.choice(["example.com", "e.org", "sub.example.co", "b-c.io", "x1.dev"])
        path = rng.choice(["", "/", "/articles/event-sourcing", "/a_b", "/p?q=1&r=2", "/x#frag", "/%41b", "/a/b.html"])
        return f"[{_words(rng, rng.randint(1, 4))}]({rng.choice(['https', 'http'])}://{host}{path})"
    if r < 0.94:
        return rng.choice(["(", '"', "'"]) + _words(rng, rng.randint(1, 3)) + rng.choice([")", '"', "'"])
    return rng.choice(PUNCTUATION)


def _any_piece(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.35:
        return _typical_piece(rng)
    if r < 0.65:
        return rng.choice(EDGES)
    if r < 0.75:
        return f"[{_words(rng, rng.randint(0, 2))}]({_url(rng)})"
    if r < 0.85:
        return rng.choice(["*", "**", "_", "***", "__"]) + rng.choice(WORDS + PUNCTUATION + [" ", ""]) + \
            rng.choice(["*", "**", "_", "***", "__", ""])
    return rng.choice(PUNCTUATION + WORDS)


def _join(rng: random.Random, pieces: list[str]) -> str:
    out = []
    for piece in pieces:
        out.append(piece)
        out.append(rng.choice([" "] * 12 + ["", "", "\n", "\n\n", "  \n", " \n", "\n\n\n", "\n \n", "  "]))
    return "".join(out[:-1]) + rng.choice(["", "", "", "\n", "  ", "\n\n", " "])


def typical_body(rng: random.Random) -> str:
    return _join(rng, [_typical_piece(rng) for _ in range(rng.randint(1, 14))])


def mixed_body(rng: random.Random) -> str:
    return _join(rng, [_any_piece(rng) for _ in range(rng.randint(1, 10))])


def test_the_short_cut_renders_the_benchmark_body_and_is_on():
    body = ("Event sourcing keeps **every change** as an immutable fact; the read model is *a cache you can rebuild*. "
            "See [the long version](https://example.com/articles/event-sourcing). Comment 7 from client 3.")
    assert markdown.SIMPLE  # the import-time probe agreed with markdown-it and nh3
    assert _simple(body) is not None
    assert _simple(body) == render_markdown_sanitised(body) == render_markdown(body)


@pytest.mark.parametrize("text", EDGES)
def test_edge_cases_are_left_to_the_full_pipeline_or_agree(text):
    for body in (text, f"a {text} b", f"{text}\n\n**x** y", f"*w* {text}"):
        simple = _simple(body)
        assert simple is None or simple == render_markdown_sanitised(body), body
        assert render_markdown(body) == render_markdown_sanitised(body), body


@pytest.mark.parametrize("text", [
    "**a*", "*a **b***", "[a](javascript:x)", '[a](http://x "t")', "snake_case_name", "a_b_", "x*a*_b_", "&copy;",
    "\\*a*", "`*a*`", "<b>*a*</b>", "> *a*", "- *a*", "1. *a*", "    *a*", "*a*\tb", "*a*\u00a0b", "*a*\r\nb",
    "*a* http://e.org", "[a](http://x.1)", "[a](http://x.com/(b))", "[ a ](http://x.com)", "![a](http://x.com)",
    "**a****b**", "*é* and *(a)*", "*a\nb*", "[a](<http://x.com>)",
])
def test_what_the_short_cut_refuses(text):
    assert _simple(text) is None
    assert render_markdown(text) == render_markdown_sanitised(text)


def _corpus(make, seed: int, n: int) -> tuple[int, list[str]]:
    """Renders n bodies both ways wherever the short cut answers; returns how many it answered and the mismatches."""
    rng = random.Random(seed)
    accepted, wrong = 0, []
    for _ in range(n):
        body = make(rng)
        simple = _simple(body)
        if simple is None:
            continue
        accepted += 1
        if simple != render_markdown_sanitised(body):
            wrong.append(body)
    return accepted, wrong


def test_typical_bodies_100k_agree_and_most_take_the_short_cut():
    """60,000 bodies made as comments are (words, everyday punctuation, the constructs) and 60,000 mixed with every
    edge case above and hostile URLs: every body the short cut answers gets markdown-it's and nh3's HTML."""
    accepted, wrong = _corpus(typical_body, 20261203, 60_000)
    assert wrong == [], wrong[:20]
    assert accepted >= 0.6 * 60_000, accepted  # a good share: the rest hold an edge of the subset
    accepted_mixed, wrong = _corpus(mixed_body, 3122026, 60_000)
    assert wrong == [], wrong[:20]
    assert accepted_mixed >= 1_000, accepted_mixed


PIECES = st.lists(st.one_of(
    st.sampled_from(EDGES + WORDS + PUNCTUATION + [" ", " ", "\n", "\n\n", "  \n"]),
    st.builds(lambda d, w: d + w + d, st.sampled_from(["*", "**", "_"]), st.sampled_from(WORDS + ["a b", "x.y"])),
    st.builds(lambda w, u: f"[{w}]({u})", st.sampled_from(WORDS + ["a b", ""]),
              st.sampled_from(["https://example.com", "http://e.org/a_b?c=1&d=2#e", "https://x.1", "http://x.com/(a)",
                               'http://x.com "t"', "javascript:x", "https://e.org/%41%zz"])),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=5),
), max_size=25).map("".join)


@settings(max_examples=3000, deadline=None)
@given(PIECES)
def test_the_simple_short_cut_equals_markdown_it(text):
    simple = _simple(text)
    if simple is not None:
        assert simple == render_markdown_sanitised(text)
    assert render_markdown(text) == render_markdown_sanitised(text)
