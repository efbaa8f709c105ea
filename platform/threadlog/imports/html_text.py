"""A source's comment HTML -> our plain body text, which today's renderer (projections.render) shows safely.

Paragraphs become blank lines and line breaks newlines (the renderer turns them back into <p> and <br>); a link
becomes its text and its URL (the renderer links the URL again, with rel=nofollow); every other tag is dropped,
keeping its text, except scripts and styles, which are dropped whole. Entities are decoded.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr"}
_DROPPED = {"script", "style", "template"}
_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropping = 0
        self.links: list[tuple[str, int]] = []  # (href, len(out) at the <a>)

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _DROPPED:
            self.dropping += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.links.append((href.strip(), len(self.out)))

    def handle_startendtag(self, tag: str, attrs) -> None:
        if tag == "br":
            self.out.append("\n")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(alt)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            text = "".join(self.out[start:]).strip()
            if href.lower().startswith(("http://", "https://")) and href != text:
                self.out.append(f" ({href})" if text else href)

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(data)


def html_to_text(source: str, *, newlines_are_breaks: bool = True) -> str:
    """The plain text of a comment's HTML. WordPress and Isso keep the author's newlines in the stored text
    (shown as paragraphs and breaks), so they stay line breaks; Disqus's newlines are only source formatting
    (`newlines_are_breaks=False`)."""
    if "<" not in source and "&" not in source:  # most WordPress comments: text with newlines, no markup
        text = source
    else:
        if not newlines_are_breaks:
            source = source.replace("\r", " ").replace("\n", " ")
        parser = _Text()
        parser.feed(source)
        parser.close()
        text = "".join(parser.out)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()

