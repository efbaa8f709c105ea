"""The demo thread: shaped like the reference comment block (8 comments, replies four levels deep, votes), four of
them anchored to passages of the demo article (inline feedback, docs/inline-feedback.md).

Loaded through the command handlers, like any reader's actions, so the log holds ordinary events.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

from projections.models import ThreadView
from threadlog.commands import Actor, CastVote, PostComment, handle

DEMO_KEY = "demo"
DEMO_TITLE = "Riverside library reopens after two-year renovation"

# (ref, parent ref, author, body)
COMMENTS = [
    ("joe", None, "Joe Doe",
     "Nice building, but talk is cheap. The opening hours are shorter than before the renovation and the "
     "reading room closes at six. In 2019 there was a chance to do this properly, and now it is too late."),
    ("mike", "joe", "Concrete Mike",
     "Nah, I don't think it's too late.\n\nThe first priority was the roof, and that had to go first.\n\n"
     "Look at how much space was freed up by moving the archive to the basement."),
    ("john", None, "John Brown",
     "The city will find the money it needs. Extending the hours costs far less than the renovation did."),
    ("richard", "john", "RichardD",
     "The budget isn't that tight. The council's own figures are here: https://example.org/budget-2026.pdf"),
    ("john2", "richard", "John Brown",
     "Richard, you are wrong about the staff costs: most of that budget is already committed to the new wing."),
    ("richard2", "john2", "RichardD", "The costs were low to start with. They'll be fine."),
    ("ronald", None, "Ronald",
     "When, not if, the evening hours come back, this will be the best library in the county."),
    ("tommy", None, "Tommy Jensen",
     "I already recommended a late-night study room two years ago, but nobody listened.\n\n"
     "Now they realise I was right."),
]
# Inline feedback: comments anchored to a passage of the demo article (their replies inherit the anchor); the
# thread keeps its shape (8 comments), so only which passage a comment is about is added.
PASSAGES = {
    "joe": "the library opens from ten until six on weekdays",
    "john": "The renovation cost about 14 million",
    "ronald": "Some residents have asked for the evening hours of the old building to return",
    "tommy": "the reading room keeps its tall windows and oak tables",
}
CONTEXT = 32  # characters of prefix and suffix, as the page takes them (frontend anchoring.js)
_BLOCKS = {"p", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "div", "blockquote", "figure", "figcaption",
           "pre", "td", "th", "dd", "dt", "section", "article", "header", "footer", "aside", "table", "tr"}


class _ArticleText(HTMLParser):
    """The demo article's text as the page's anchoring sees it: white space collapsed, a space between blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.text, self.space, self.boundary = 0, [], True, False

    def handle_starttag(self, tag, attrs):
        if tag == "article" or self.depth:
            self.depth += tag not in ("br", "img", "hr", "input", "wbr")
            self.boundary |= tag in _BLOCKS

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            self.boundary |= tag in _BLOCKS

    def handle_data(self, data):
        if not self.depth:
            return
        if self.boundary and not self.space and data.strip():
            self.text.append(" ")
            self.space = True
        if data.strip():
            self.boundary = False
        for ch in data:
            if not ch.isspace():
                self.text.append(ch)
                self.space = False
            elif not self.space:
                self.text.append(" ")
                self.space = True


def article_text() -> tuple[str, dict[str, str]]:
    """The demo article's text, and the text of each of its paragraphs by id."""
    from django.template.loader import render_to_string

    html = render_to_string("threadlog/article.html", {"thread_title": DEMO_TITLE, "thread_key": DEMO_KEY})
    parser = _ArticleText()
    parser.feed(html)
    paragraphs = {m[1]: " ".join(re.sub(r"<[^>]+>", " ", m[2]).split())
                  for m in re.finditer(r'<p[^>]* id="([^"]+)"[^>]*>(.*?)</p>', html, re.S)}
    return "".join(parser.text), paragraphs


def anchor_for(article: tuple[str, dict[str, str]], exact: str) -> dict:
    """The anchor a reader selecting `exact` in the demo article would send."""
    text, paragraphs = article
    start = text.index(exact)
    end = start + len(exact)
    anchor = {"exact": exact, "prefix": text[max(0, start - CONTEXT):start], "suffix": text[end:end + CONTEXT],
              "start": start, "end": end}
    container = next((pid for pid, words in paragraphs.items() if exact in words), None)
    return {**anchor, "container": container} if container else anchor


# (ref, voters up, voters down)
VOTES = [("joe", 3, 1), ("mike", 5, 0), ("john", 2, 2), ("richard", 4, 1), ("john2", 1, 3), ("richard2", 2, 0),
         ("ronald", 6, 0), ("tommy", 1, 4)]


def load_demo(key: str = DEMO_KEY) -> bool:
    """Post the demo thread unless it exists. Returns True when it was loaded now."""
    if ThreadView.objects.filter(pk=key).exists():
        return False
    ids: dict[str, str] = {}
    article = article_text()
    for ref, parent, author, body in COMMENTS:
        # The site's own sample content: loaded with the site's authority, so MODERATION never holds it.
        # One set of demo people per thread: a second demo thread is not the same people posting the same bodies
        # again (which the duplicate rule refuses within DUPLICATE_SECONDS).
        who = author.lower().replace(' ', '-')
        actor = Actor(f"guest:demo-{who}" if key == DEMO_KEY else f"guest:{key}-{who}", is_staff=True)
        anchor = anchor_for(article, PASSAGES[ref]) if ref in PASSAGES else None
        result = handle(PostComment(thread=key, body=body, author_name=author, anchor=anchor,
                                    parent_id=ids.get(parent) if parent else None, title=DEMO_TITLE), actor)
        ids[ref] = result.comment_id
    for ref, ups, downs in VOTES:
        for i in range(ups):
            handle(CastVote(comment_id=ids[ref], value=1), Actor(f"guest:demo-voter-{i}"))
        for i in range(downs):
            handle(CastVote(comment_id=ids[ref], value=-1), Actor(f"guest:demo-voter-{ups + i}"))
    return True
