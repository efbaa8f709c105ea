"""Domain rejections. Each carries a stable code and the HTTP status the API maps it to."""
from __future__ import annotations


class CommandError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def not_found(what: str, ident: str) -> CommandError:
    return CommandError(f"{what}_not_found", f"no {what} {ident!r}", 404)
