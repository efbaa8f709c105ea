"""Comment formats: `CommentPosted` v3 and `CommentEdited` v2 carry the body's `format`.

A body is either "plain" (text: paragraphs, line breaks, linked URLs, as every comment before v3 was) or
"markdown" (a CommonMark subset, projections.markdown). The format belongs to the event, so a comment renders
the same way forever, whatever the default of the day: old events are read as plain text by the upcasters below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .types import CommentEdited as CommentEditedV1
from .types import CommentPosted as CommentPostedV2
from .types import event, upcaster

PLAIN = "plain"
MARKDOWN = "markdown"
FORMATS = (PLAIN, MARKDOWN)


@event
@dataclass(frozen=True)
class CommentPosted(CommentPostedV2):
    """v3: v2 (sealed author) and the body's format."""

    type: ClassVar[str] = "CommentPosted"
    version: ClassVar[int] = 3
    format: str = PLAIN


@upcaster("CommentPosted", 2)
def _comment_posted_v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    data.setdefault("format", PLAIN)  # every body written before formats existed was plain text
    return data


@event
@dataclass(frozen=True)
class CommentEdited(CommentEditedV1):
    """v2: v1 and the new body's format."""

    type: ClassVar[str] = "CommentEdited"
    version: ClassVar[int] = 2
    format: str = PLAIN


@upcaster("CommentEdited", 1)
def _comment_edited_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data.setdefault("format", PLAIN)
    return data


__all__ = ["CommentPosted", "CommentEdited", "FORMATS", "PLAIN", "MARKDOWN"]
