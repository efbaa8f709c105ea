"""Inline feedback: `CommentPosted` v4 carries the passage of the article a top-level comment is anchored to.

An anchor is a W3C Web Annotation TextQuoteSelector (`exact`, `prefix`, `suffix`) with an optional
TextPositionSelector hint (`start`, `end`) and the id of the element it was made in (`container`). Only
top-level comments carry one in their event; a reply inherits its parent's (projections.anchors).

Events written before v4 read as unanchored: the upcaster adds nothing (an absent `anchor` reads as None through
the class's default), so a rebuild's frame of an old event is the very frame the live path stored. For the same
reason v4 leaves `anchor` out of its data when a comment has none.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .formats import CommentPosted as CommentPostedV3
from .types import event, upcaster

ANCHOR_KEYS = ("exact", "prefix", "suffix", "start", "end", "container")


@event
@dataclass(frozen=True)
class CommentPosted(CommentPostedV3):
    """v4: v3 (sealed author, format) and the anchor: {exact, prefix, suffix, start?, end?, container?} or None."""

    type: ClassVar[str] = "CommentPosted"
    version: ClassVar[int] = 4
    anchor: dict[str, Any] | None = None

    def to_data(self) -> dict[str, Any]:
        data = super().to_data()
        if data["anchor"] is None:
            del data["anchor"]
        else:
            data["anchor"] = {k: v for k, v in self.anchor.items() if k in ANCHOR_KEYS and v is not None}
        return data


@upcaster("CommentPosted", 3, adds_nothing=True)
def _comment_posted_v3_to_v4(data: dict[str, Any]) -> dict[str, Any]:
    return data  # no anchor: unanchored (the field's default); nothing added, so old frames stay as stored


__all__ = ["CommentPosted", "ANCHOR_KEYS"]
