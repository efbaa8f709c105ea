"""The demo thread: shaped like the reference comment block (8 comments, replies four levels deep, votes).

Loaded through the command handlers, like any reader's actions, so the log holds ordinary events.
"""
from __future__ import annotations

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
# (ref, voters up, voters down)
VOTES = [("joe", 3, 1), ("mike", 5, 0), ("john", 2, 2), ("richard", 4, 1), ("john2", 1, 3), ("richard2", 2, 0),
         ("ronald", 6, 0), ("tommy", 1, 4)]


def load_demo(key: str = DEMO_KEY) -> bool:
    """Post the demo thread unless it exists. Returns True when it was loaded now."""
    if ThreadView.objects.filter(pk=key).exists():
        return False
    ids: dict[str, str] = {}
    for ref, parent, author, body in COMMENTS:
        # The site's own sample content: loaded with the site's authority, so MODERATION never holds it.
        actor = Actor(f"guest:demo-{author.lower().replace(' ', '-')}", is_staff=True)
        result = handle(PostComment(thread=key, body=body, author_name=author,
                                    parent_id=ids.get(parent) if parent else None, title=DEMO_TITLE), actor)
        ids[ref] = result.comment_id
    for ref, ups, downs in VOTES:
        for i in range(ups):
            handle(CastVote(comment_id=ids[ref], value=1), Actor(f"guest:demo-voter-{i}"))
        for i in range(downs):
            handle(CastVote(comment_id=ids[ref], value=-1), Actor(f"guest:demo-voter-{ups + i}"))
    return True
