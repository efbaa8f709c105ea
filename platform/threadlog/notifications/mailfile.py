"""The e-mail back end used when EMAIL_URL is unset: each message as its own .eml file in var/mail/.

Django's file back end appends every message of one connection to one log file; one file per message is what a
newcomer (or a test) wants to open and read."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

_seq = 0
_lock = threading.Lock()


class EmailBackend(BaseEmailBackend):
    def __init__(self, file_path: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.path = Path(file_path or getattr(settings, "EMAIL_FILE_PATH", "") or settings.VAR_DIR / "mail")

    def send_messages(self, messages) -> int:
        global _seq
        self.path.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in messages:
            with _lock:
                _seq += 1
                name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{_seq:06d}.eml"
            draft = self.path / f".{name}"
            draft.write_bytes(message.message().as_bytes(linesep="\n"))
            draft.rename(self.path / name)  # readers never see half a message
            sent += 1
        return sent
