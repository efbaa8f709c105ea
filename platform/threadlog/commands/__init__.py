"""Commands and their handlers: the only callers of append. Entry points build a command and call `handle`."""
from .errors import CommandError
from .handlers import HANDLERS, Actor, Result, handle
from .messages import CastVote, DeleteComment, EditComment, ErasePerson, PostComment

__all__ = ["CommandError", "HANDLERS", "Actor", "Result", "handle", "CastVote", "DeleteComment", "EditComment",
           "ErasePerson", "PostComment"]

from threadlog.moderation import commands as _moderation  # noqa: E402,F401  (registers the moderation handlers)
