"""A source's comment HTML -> our plain body text, which today's renderer (projections.render) shows safely.

Paragraphs become blank lines and line breaks newlines (the renderer turns them back into <p> and <br>); a link
becomes its text and its URL (the renderer links the URL again, with rel=nofollow); an image its alt text; every
other tag is dropped, keeping its text, except scripts and styles, which are dropped whole. Entities are decoded.
A tokenizing regex rather than html.parser: an import converts 100,000 comments, and this is several times
faster while reading comment markup (tags, comments, entities) the same way.
"""
from __future__ import annotations

import html
import re

_BLOCKS = frozenset({"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
                     "table", "tr"})
_DROPPED = frozenset({"script", "style", "template"})
_TOKEN = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([A-Za-z][A-Za-z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _attr(pattern: re.Pattern, attrs: str) -> str:
    m = pattern.search(attrs)
    return html.unescape(next((g for g in m.groups() if g is not None), "")).strip() if m else ""


def _convert(source: str) -> str:
    out: list[str] = []
    dropping = 0
    links: list[tuple[str, int]] = []  # (href, len(out) at the <a>)
    last = 0
    for m in _TOKEN.finditer(source):
        if not dropping:
            out.append(html.unescape(source[last:m.start()]))
        last = m.end()
        tag = (m.group(2) or "").lower()
        if not tag:  # an HTML comment
            continue
        closing = bool(m.group(1))
        if tag in _DROPPED:
            dropping = max(0, dropping + (-1 if closing else 1))
        elif dropping:
            continue
        elif tag == "br":
            out.append("\n")
        elif tag in _BLOCKS:
            out.append("\n\n")
        elif tag == "img" and not closing:
            out.append(_attr(_ALT, m.group(3)))
        elif tag == "a" and not closing:
            links.append((_attr(_HREF, m.group(3)), len(out)))
        elif tag == "a" and links:
            href, start = links.pop()
            text = "".join(out[start:]).strip()
            if href.lower().startswith(("http://", "https://")) and href != text:
                out.append(f" ({href})" if text else href)
    if not dropping:
        out.append(html.unescape(source[last:]))
    return "".join(out)


def html_to_text(source: str, *, newlines_are_breaks: bool = True) -> str:
    """The plain text of a comment's HTML. WordPress and Isso keep the author's newlines in the stored text
    (shown as paragraphs and breaks), so they stay line breaks; Disqus's newlines are only source formatting
    (`newlines_are_breaks=False`)."""
    if "<" not in source and "&" not in source:  # most WordPress comments: text with newlines, no markup
        text = source
    else:
        if not newlines_are_breaks:
            source = source.replace("\r", " ").replace("\n", " ")
        text = _convert(source)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
