"""The server process's start-up adjustments: the frozen start-up heap and the skipped Twisted access-log line."""
from __future__ import annotations

import gc
import sys

import pytest

from threadlog import server_tuning


def test_freeze_startup_heap_loads_the_urlconf_and_markdown_it_then_freezes():
    gc.unfreeze()
    try:
        server_tuning.freeze_startup_heap()
        assert gc.get_freeze_count() > 10_000  # Django's apps, the URLconf's views and schemas, markdown-it …
        assert "projections.markdown" in sys.modules
        assert "threadlog.api.views" in sys.modules  # imported with the URLconf, before the freeze
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual


def test_twisted_no_longer_formats_a_line_per_request(monkeypatch):
    from daphne.http_protocol import HTTPFactory

    monkeypatch.setattr(HTTPFactory, "log", HTTPFactory.log)  # undone after the test
    factory = HTTPFactory(None)
    factory.startFactory()
    try:
        with pytest.raises(AttributeError):  # Twisted's own method formats a line from the request's fields
            factory.log(None)
        server_tuning.skip_twisted_access_log()
        factory.log(None)  # nothing formatted, nothing written
    finally:
        factory.stopFactory()
