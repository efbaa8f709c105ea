"""Markdown bodies -> safe HTML: a CommonMark subset (markdown-it-py), then sanitised by nh3.

The subset: paragraphs, line breaks (a newline is a line break, as in the plain format), **bold**, *italic*,
`code`, fenced and indented code blocks, > quotes, lists, [links](https://…), <autolinks> and bare URLs (linked
exactly as in plain text). No raw HTML (shown as text), no images (their alt text stays, as a link), no headings,
rules, tables or link reference definitions (shown as the text they are); quotes nest QUOTE_DEPTH deep, deeper
markers stay text. Only http(s) links survive, with
rel="nofollow ugc noopener".

The HTML carries no layout newlines, so a body without any Markdown in it renders exactly as the plain format
renders it; `render_markdown` takes that short cut (the plain renderer is several times faster), and tests check
both paths agree. A body that uses only **strong**, *em*, _em_ and [links](https://…) takes a second short cut
(`_simple`), which writes the pipeline's HTML itself; anything it is unsure of goes through markdown-it and nh3.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline

from .render import LINK_REL, _URL, _split_trailing, render_body

# Deeper quotes and lists than this are shown as text: the parser's recursion stays bounded whatever the input.
MAX_NESTING = 20

_CLEANER = nh3.Cleaner(
    tags={"p", "br", "a", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li"},
    attributes={"a": {"href"}, "ol": {"start"}},
    url_schemes={"http", "https"},
    link_rel=LINK_REL,
)
_SCHEME_BEFORE = re.compile(r"(?:^|[^A-Za-z0-9.+-])(https?)$", re.IGNORECASE)


def _bare_url(state: StateInline, silent: bool) -> bool:
    """Link a bare http(s) URL as the plain format does (the same pattern and trailing punctuation).

    Runs at a ':' (where the text rule stops), like markdown-it's own linkify rule, so the URL is taken whole
    before emphasis can split it at a '_' or '*'."""
    pos = state.pos
    if state.linkLevel > 0 or not state.src.startswith("://", pos):
        return False
    scheme = _SCHEME_BEFORE.search(state.pending)
    if scheme is None:
        return False
    start = pos - len(scheme.group(1))
    match = _URL.match(state.src, start, state.posMax)
    if match is None:
        return False
    url, _ = _split_trailing(match.group(0))
    if len(url) <= len(scheme.group(1)) + 3:
        return False
    if not silent:
        state.pending = state.pending[: -len(scheme.group(1))]
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": url}
        token.markup, token.info = "linkify", "auto"
        state.push("text", "", 0).content = url
        token = state.push("link_close", "a", -1)
        token.markup, token.info = "linkify", "auto"
    state.pos = start + len(url)
    return True


def _flatten(state) -> None:
    """No layout newlines between blocks (the plain renderer writes none): a core rule after parsing."""
    for token in state.tokens:
        token.block = False


def _code_block(self, tokens, idx, options, env) -> str:
    return f"<pre><code>{escapeHtml(tokens[idx].content)}</code></pre>"


def _make() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "xhtmlOut": False, "maxNesting": MAX_NESTING})
    md.disable(["heading", "lheading", "hr", "html_block", "html_inline", "image", "reference"])
    md.inline.ruler.after("text", "bare_url", _bare_url)
    md.core.ruler.push("flatten", _flatten)
    md.add_render_rule("softbreak", lambda self, tokens, idx, options, env: "<br>")
    md.add_render_rule("hardbreak", lambda self, tokens, idx, options, env: "<br>")
    md.add_render_rule("code_block", _code_block)
    md.add_render_rule("fence", _code_block)  # the info string ("python") is dropped: no classes survive nh3
    return md


_MD = _make()

# Characters that can make Markdown anywhere in a text, and what can at the start of a line; a body with none of
# them renders as plain text does (`_plain_looking`, checked against markdown-it by tests).
_INLINE_SYNTAX = re.compile(r"[\\`*_\[\]<\r]|&(?:#|[A-Za-z0-9]+;)")
_LINE_MARKS = "-+>~"


def _plain_looking(text: str) -> bool:
    """No Markdown syntax: nothing inline, and no line that starts a block (quote, list, fence, indented code)
    or starts or ends with white space (which Markdown strips and plain text keeps). One pass of a character
    class, then each line's ends: a multi-line regex for the same test took twice the plain renderer's time."""
    if _INLINE_SYNTAX.search(text) is not None:
        return False
    for line in text.split("\n"):
        if line and (line[0].isspace() or line[-1].isspace() or line[0] in _LINE_MARKS or line[0].isdigit()):
            return False
    return True


# Quote markers past this depth are kept as text (markdown-it would drop what lies deeper than MAX_NESTING).
QUOTE_DEPTH = MAX_NESTING - 4
_DEEP_QUOTE = re.compile(r"^((?:[ \t]*>){%d})([ \t>]*>)" % QUOTE_DEPTH, re.MULTILINE)


def _shallow(text: str) -> str:
    return _DEEP_QUOTE.sub(lambda m: m.group(1) + m.group(2).replace(">", "\\>"), text)


def render_markdown_sanitised(text: str) -> str:
    """The general path: markdown-it, then nh3."""
    return _CLEANER.clean(_MD.render(_shallow(text)))


_SCHEME_AT = re.compile(r"https?://", re.IGNORECASE)
_WORD_CHAR = re.compile(r"\w")
_NO_LINK_AFTER = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-")


def _links_alike(text: str) -> bool:
    """Whether the plain format and this one link the same bare URLs: plain text links a scheme after a word
    boundary (`render._URL`), this format after anything but an ASCII letter, digit, ".", "+" or "-"
    (`_SCHEME_BEFORE`, as markdown-it's linkify). They differ after ".", "+", "-", "_" and non-ASCII letters;
    such a body takes markdown-it's path (hypothesis found ".HTTP://0")."""
    for match in _SCHEME_AT.finditer(text):
        if match.start() == 0:
            continue
        before = text[match.start() - 1]
        if (_WORD_CHAR.match(before) is None) != (before not in _NO_LINK_AFTER):
            return False
    return True


def _renders_as_plain(text: str) -> bool:
    return (_plain_looking(text) and "\x00" not in text and "\ufeff" not in text
            and ("://" not in text or _links_alike(text)))


# The simple short cut. Most Markdown bodies use only **strong**, *em* or _em_ and [text](http(s)://url) in
# paragraphs of text: `_simple` builds their HTML directly, exactly as markdown-it and nh3 write it (about a tenth
# of the time), and answers None for anything else (then the full pipeline renders it). It accepts little on
# purpose: each line printable (no tab, control, format or non-space white space character), not starting with
# what could open a block (white space, a digit followed by "." or ")", "-+>~=#|"), trailing spaces (markdown-it
# drops them); inline, only these constructs, not nested, each delimiter run exactly as long as its construct and
# flanked as CommonMark wants it without asking its rules of three or Unicode punctuation: an emphasis holds a
# letter or digit at each end, and has outside it white space, a line's end, a few ASCII punctuation marks or
# (for "*" only) a letter or digit; a link is text without brackets or white space at its ends, then a URL whose
# host nh3 keeps (as render._PLAIN_URL) and whose other characters markdown-it's normalisation leaves alone (no
# "(", ")", ";" that could end an entity, ":" or "@" after the host, quotes, spaces or titles). Anywhere else, any
# "*", "_", "[", "]", "\\", "`", "<", ">", "![", "://" (a bare URL), or "&" before "#" or a letter or digit (an
# entity) sends the body to the full pipeline. tests/readers/test_markdown_simple.py compares both on 100,000+
# bodies.
_SPAN = re.compile(
    r"(\*\*|\*|_)([^*_\[\]\\`<>]+?)\1"
    r"|\[([^*_\[\]\\`<>]+)\]\((https?://([A-Za-z0-9.-]+)(?:[/?#](?:[A-Za-z0-9._~/?#=&+!$,-]|%[0-9A-Fa-f]{2})*)?)\)")
_TEXT_SPECIAL = re.compile(r"[*_\[\]\\`<>]|&[#A-Za-z0-9]|!\[|://")
_HOST = re.compile(r"(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*")
_BLOCK_START = re.compile(r"[-+>~=#|\s]|\d+[.)]")
_OUTSIDE = frozenset(" .,;:!?()\"'-/")  # besides a line's ends: what may stand just outside an emphasis


def _escaped(text: str) -> str:
    """Text as markdown-it escapes it and nh3 serialises it again: "&" only, as "<", ">" and U+00A0 never get here
    and a quote comes back as it was."""
    return text.replace("&", "&amp;") if "&" in text else text


def _simple_line(line: str) -> str | None:
    out, last = [], 0
    for m in _SPAN.finditer(line):
        start, end = m.span()
        between = line[last:start]
        if _TEXT_SPECIAL.search(between) is not None:
            return None
        out.append(_escaped(between))
        last = end
        delimiter, inner = m.group(1), m.group(2)
        if delimiter is not None:
            before = line[start - 1] if start else " "
            after = line[end] if end < len(line) else " "
            if (not inner[0].isalnum() or not inner[-1].isalnum() or _TEXT_SPECIAL.search(inner) is not None
                    or not (before in _OUTSIDE or (delimiter != "_" and before.isalnum()))
                    or not (after in _OUTSIDE or (delimiter != "_" and after.isalnum()))):
                return None
            tag = "strong" if delimiter == "**" else "em"
            out.append(f"<{tag}>{_escaped(inner)}</{tag}>")
        else:
            label, url, host = m.group(3), m.group(4), m.group(5)
            if (label[0] == " " or label[-1] == " " or _TEXT_SPECIAL.search(label) is not None
                    or (start and line[start - 1] == "!")  # an image's syntax
                    or _HOST.fullmatch(host) is None or len(host) > 253
                    or max(len(part) for part in host.split(".")) > 63):
                return None
            out.append(f'<a href="{_escaped(url)}" rel="{LINK_REL}">{_escaped(label)}</a>')
    rest = line[last:]
    if _TEXT_SPECIAL.search(rest) is not None:
        return None
    out.append(_escaped(rest))
    return "".join(out)


def _simple(text: str) -> str | None:
    """The HTML of a body in the simple subset (above), or None: not in it, render it in full."""
    paragraphs: list[str] = []
    lines: list[str] = []
    for line in text.split("\n"):
        line = line.rstrip(" ")
        if not line:
            if lines:
                paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
                lines = []
            continue
        if not line.isprintable() or _BLOCK_START.match(line) is not None:
            return None
        html = _simple_line(line)
        if html is None:
            return None
        lines.append(html)
    if lines:
        paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
    return "".join(paragraphs)


# Checked once at import against the full pipeline: should a new markdown-it or nh3 write this HTML otherwise (an
# attribute's order, an escape), the short cut stays off rather than write what they would not.
_PROBE = 'A **b** *c* _d_, [e & "f"](https://g.example/h_i?j=1&k=%41#l) m!\nn  \n\n\no'
SIMPLE = _simple(_PROBE) == render_markdown_sanitised(_PROBE)


def render_markdown(text: str) -> str:
    if _renders_as_plain(text):
        return render_body(text)
    return _recent(text)


# Where `prepare` may have a body rendered instead of on the calling thread: a function returning the HTML of
# render_markdown_sanitised(text), or None for "do it yourself" (`use_renderer`; threadlog's server sets one).
_elsewhere: Callable[[str], str | None] | None = None
_ahead: dict[str, str] = {}  # rendered elsewhere, on its way into `_recent`


def use_renderer(render: Callable[[str], str | None] | None) -> None:
    """Have `prepare` render Markdown bodies with `render` (None: on the calling thread again). It must give
    render_markdown_sanitised's output, or None."""
    global _elsewhere
    _elsewhere = render


@lru_cache(maxsize=256)
def _recent(text: str) -> str:
    """The last bodies rendered: a write renders its body before it takes the append lock (`prepare`), and the
    projection, under the lock, finds it here (a long Markdown body takes tenths of a second; a simple one, by the
    short cut, a few microseconds, still worth not spending twice)."""
    html = _ahead.pop(text, None)
    if html is None and SIMPLE:
        html = _simple(text)
    return render_markdown_sanitised(text) if html is None else html


def prepare(text: str) -> None:
    if _renders_as_plain(text):
        return  # rendered directly (render_body) when projected: nothing to keep
    if _elsewhere is not None:
        html = _simple(text) if SIMPLE else None  # the short cut beats the hop
        if html is None:
            html = _elsewhere(text)
        if html is not None:
            _ahead[text] = html  # taken by the call below, if the text is not among the recent renders already
    _recent(text)
    _ahead.pop(text, None)
