"""Request bodies: shape and size are checked here, before any handler runs."""
from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, StrictInt, StrictStr, field_validator

from .constraints import NOT_BLANK

# What the API document says of these fields beyond what the validators show (threadlog.api.openapi adds the
# characters every string refuses).
DOC_NOT_BLANK = {"pattern": NOT_BLANK}
DOC_EMAIL_OR_EMPTY = {"anyOf": [{"type": "string", "format": "email", "maxLength": 254},
                                {"type": "string", "maxLength": 0}, {"type": "null"}]}
DOC_UUID_OR_EMPTY = {"anyOf": [{"type": "string", "format": "uuid"}, {"type": "string", "maxLength": 0},
                               {"type": "null"}]}


class _Strict(BaseModel):
    """Request bodies as plain pydantic models: ninja's Schema (made for reading Django objects) validates a model
    that forbids extra fields twice, the second time through a wrapper that looks up each field in Python.
    No string field holds NUL (nor, as pydantic refuses them already, a lone surrogate)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _no_nul_anywhere(cls, value):
        return _no_nul(value) if isinstance(value, str) else value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return _no_nul(value)


def _no_nul(value: str | None) -> str | None:
    """NUL is no text (PostgreSQL cannot even store it): refused alike on every database."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def whole_number(value):
    """JSON has one kind of number: 3600.0 is the integer 3600 (JSON Schema says so too); "3600" and true are not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


WholeInt = Annotated[StrictInt, BeforeValidator(whole_number)]
# A character offset in the article's text. Stated whole: with the BeforeValidator pydantic writes ge/le, not
# minimum/maximum, into the document.
OFFSET_DOC = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 10_000_000}, {"type": "null"}]}


class AnchorIn(_Strict):
    """The passage a top-level comment is anchored to (inline feedback, docs/inline-feedback.md): a W3C
    TextQuoteSelector (`exact` with some context before and after), an optional TextPositionSelector hint
    (`start`, `end`: character offsets in the article's text) and the id of the element it was made in."""

    exact: StrictStr = Field(min_length=1, max_length=1_000)
    prefix: StrictStr = Field(default="", max_length=64)
    suffix: StrictStr = Field(default="", max_length=64)
    start: Optional[WholeInt] = Field(default=None, ge=0, le=10_000_000, json_schema_extra=OFFSET_DOC)
    end: Optional[WholeInt] = Field(default=None, ge=0, le=10_000_000, json_schema_extra=OFFSET_DOC)
    container: Optional[StrictStr] = Field(default=None, max_length=100)

    _blank = field_validator("exact")(_not_blank)
    _nul = field_validator("prefix", "suffix", "container")(_no_nul)

    @field_validator("end")
    @classmethod
    def _ordered(cls, value: Optional[int], info) -> Optional[int]:
        start = info.data.get("start")
        if value is not None and start is not None and value < start:
            raise ValueError("must not be less than start")
        return value


class PostCommentIn(_Strict):
    body: StrictStr = Field(min_length=1, max_length=10_000, json_schema_extra=DOC_NOT_BLANK)
    author_name: StrictStr = Field(min_length=1, max_length=64, json_schema_extra=DOC_NOT_BLANK)
    author_email: Optional[StrictStr] = Field(default=None, max_length=254, json_schema_extra=DOC_EMAIL_OR_EMPTY)
    parent_id: Optional[StrictStr] = Field(default=None, max_length=36, json_schema_extra=DOC_UUID_OR_EMPTY)
    title: StrictStr = Field(default="", max_length=300)
    website: StrictStr = Field(default="", max_length=300)  # the form's honeypot: people leave it empty
    # Markdown unless told otherwise: what POST /api/preview shows for the same body is what gets posted.
    format: Literal["plain", "markdown"] = "markdown"
    anchor: Optional[AnchorIn] = None  # top-level comments only: a reply inherits its parent's

    _blank = field_validator("body", "author_name")(_not_blank)
    _nul = field_validator("title", "parent_id")(_no_nul)

    @field_validator("author_email")
    @classmethod
    def _email(cls, value: Optional[str]) -> Optional[str]:
        if value is None or value == "":
            return None
        _no_nul(value)
        from django.core.validators import validate_email
        from django.core.exceptions import ValidationError

        try:
            validate_email(value)
        except ValidationError:
            raise ValueError("not a valid email address") from None
        return value


class VoteIn(_Strict):
    # not Literal[1, -1, 0]: a Literal accepts true and 1.0 even in strict mode
    value: StrictInt = Field(json_schema_extra={"enum": [1, -1, 0]})

    @field_validator("value")
    @classmethod
    def _vote(cls, value: int) -> int:
        if value not in (1, -1, 0):
            raise ValueError("must be 1, -1 or 0")
        return value


class EditIn(_Strict):
    body: StrictStr = Field(min_length=1, max_length=10_000, json_schema_extra=DOC_NOT_BLANK)
    format: Optional[Literal["plain", "markdown"]] = None  # None: keep the comment's format

    _blank = field_validator("body")(_not_blank)


__all__ = ["AnchorIn", "PostCommentIn", "VoteIn", "EditIn", "StrictInt", "EmailStr"]
