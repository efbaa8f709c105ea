"""Plain text with links -> safe HTML: escaped, paragraphs, auto-linked URLs, then sanitised by nh3."""
from __future__ import annotations

import html
import re

import nh3

_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
LINK_REL = "nofollow ugc noopener"


def _link(url: str) -> str:
    trail = ""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        trail = url[-1] + trail
        url = url[:-1]
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


def render_body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]
    raw = "".join(f"<p>{_inline(p)}</p>" for p in paragraphs)
    return nh3.clean(
        raw,
        tags={"p", "br", "a"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        link_rel=LINK_REL,
    )
