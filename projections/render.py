"""Plain text with links -> safe HTML: escaped, paragraphs, auto-linked URLs, then sanitised by nh3.

Most comments hold no link. Their HTML is built directly, escaped exactly as nh3 serialises text, because
sanitising markup we generated from fully escaped text cannot change it; tests check both paths agree.
"""
from __future__ import annotations

import contextlib
import html
import re
from typing import Iterator

import nh3

_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_PARAGRAPHS = re.compile(r"\n\s*\n")
LINK_REL = "nofollow ugc noopener"
_CLEANER = nh3.Cleaner(
    tags={"p", "br", "a"},
    attributes={"a": {"href"}},
    url_schemes={"http", "https"},
    link_rel=LINK_REL,
)


def _split_trailing(url: str) -> tuple[str, str]:
    """A matched URL without the punctuation that ends the sentence around it (kept: a ")" closing a "(")."""
    trail = ""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        trail = url[-1] + trail
        url = url[:-1]
    return url, trail


def _link(url: str) -> str:
    url, trail = _split_trailing(url)
    href = html.escape(url, quote=True)
    return f'<a href="{href}">{html.escape(url)}</a>{html.escape(trail)}'


def _inline(text: str) -> str:
    out, last = [], 0
    for m in _URL.finditer(text):
        out.append(html.escape(text[last : m.start()]))
        out.append(_link(m.group(0)))
        last = m.end()
    out.append(html.escape(text[last:]))
    return "<br>".join("".join(out).split("\n"))


def _text(text: str) -> str:
    """Text escaped the way nh3 (html5ever) serialises it."""
    return (text.replace("&", "&amp;").replace("\u00a0", "&nbsp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", "<br>"))


def _paragraphs(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return [p.strip("\n") for p in _PARAGRAPHS.split(text) if p.strip()]


def render_sanitised(text: str) -> str:
    """The general path: build the markup, then let nh3 sanitise it."""
    return _CLEANER.clean("".join(f"<p>{_inline(p)}</p>" for p in _paragraphs(text)))


# A URL nh3 keeps as it is written: a host of letters, digits and inner hyphens whose last label starts with a
# letter (so it is no IPv4 address to check), an optional port, then anything but control characters. Others
# (an empty, numeric or malformed host) nh3 may strip of their href: those bodies take the sanitising path.
_LABEL = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
_PLAIN_URL = re.compile(r"https?://(?:%s\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?::[0-9]{1,4})?"
                        r"(?:[/?#][^\x00-\x20\x7f-\x9f]*)?" % _LABEL, re.IGNORECASE)


def _linked(text: str) -> str | None:
    """A paragraph's text with its links, as nh3 serialises the sanitised markup of `_inline`: text escaped as in
    `_text`; an href keeps its URL with "&" escaped, and gains the rel attribute; the punctuation after a link is
    text. None if a URL is not one nh3 surely keeps (`_PLAIN_URL`)."""
    out, last = [], 0
    for m in _URL.finditer(text):
        url, trail = _split_trailing(m.group(0))
        if _PLAIN_URL.fullmatch(url) is None:
            return None
        href = url.replace("&", "&amp;")  # a URL holds no white space, "<", ">" or quotes (_URL)
        out.append(_text(text[last : m.start()]))
        out.append(f'<a href="{href}" rel="{LINK_REL}">{href}</a>{trail}')
        last = m.end()
    out.append(_text(text[last:]))
    return "".join(out)


def render_body(text: str) -> str:
    """Plain text as safe HTML, built directly: the same string `render_sanitised` gives (tests check it), without
    a parse and serialisation by nh3 (most of a body's rendering time; half the bodies hold a link)."""
    if "\x00" in text or "\ufeff" in text:
        return render_sanitised(text)
    if _URL.search(text) is None:
        return "".join(f"<p>{_text(p)}</p>" for p in _paragraphs(text))
    out = []
    for p in _paragraphs(text):
        linked = _linked(p)
        if linked is None:
            return render_sanitised(text)
        out.append(f"<p>{linked}</p>")
    return "".join(out)


def prepare(text: str, format: str) -> None:
    """Render a Markdown body ahead, outside the append lock: the projection then finds it rendered."""
    if format == "markdown":
        from .markdown import prepare as prepare_markdown

        prepare_markdown(text)


_RENDERED: dict[str, str] = {}  # plain bodies rendered ahead by another process (an import's reader): `rendered`


@contextlib.contextmanager
def rendered(bodies: dict[str, str]) -> Iterator[None]:
    """While this runs, `render` answers these plain-text bodies with their HTML, rendered ahead (by this very
    function, in an import's reader process) instead of rendering them again."""
    _RENDERED.update(bodies)
    try:
        yield
    finally:
        _RENDERED.clear()


def render(text: str, format: str = "plain") -> str:
    """A body in its format ("plain" or "markdown", events.formats) as safe HTML."""
    if _RENDERED and format == "plain":
        ahead = _RENDERED.get(text)
        if ahead is not None:
            return ahead
    if format == "markdown":
        from .markdown import render_markdown  # markdown-it loads only where a Markdown body is rendered

        return render_markdown(text)
    return render_body(text)
