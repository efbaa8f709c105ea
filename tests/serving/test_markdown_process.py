"""The Markdown helper process renders exactly what the request thread would, and its absence or failure only
means that a body is rendered on the request thread again."""
from __future__ import annotations

import os
import signal
import threading

import pytest

from projections import markdown
from projections.markdown import render_markdown, render_markdown_sanitised
from threadlog.serving import markdown_process
from threadlog.serving.markdown_process import MarkdownProcess

BODIES = [
    "**bold** and *italic* and `code`, see [the long version](https://example.com/a_b) or https://e.org/x_y.",
    "> quoted\n\n- a\n- b\n\n```\n<b>x</b>\n```",
    "line one\nline two \u00e9\U0001F600 <script>alert(1)</script> [x](javascript:alert(1)) \u2028 \x00",
    "*" * 5000 + "\n\n" + "> " * 40 + "deep",
]


@pytest.fixture
def helper():
    proc = MarkdownProcess().start()
    yield proc
    proc.stop()


def test_the_helper_renders_what_the_request_thread_would(helper):
    for body in BODIES:
        assert helper.render(body) == render_markdown_sanitised(body)


def test_prepare_uses_the_helper_and_the_projection_finds_its_html(helper):
    calls = []

    def render(text):
        calls.append(text)
        return helper.render(text)

    markdown.use_renderer(render)
    try:
        body = "A `fresh` body for prepare, not rendered before: 7f3a"
        markdown.prepare(body)
        assert calls == [body]
        assert render_markdown(body) == render_markdown_sanitised(body)
        assert markdown._ahead == {}  # nothing left behind
        markdown.prepare("plain text without any syntax")  # rendered directly, as before: no round trip
        markdown.prepare("A *simple* body, by the short cut: 7f3b")  # quicker here than a round trip
        assert calls == [body]
    finally:
        markdown.use_renderer(None)


def test_a_dead_helper_is_replaced(helper):
    assert helper.render(BODIES[0]) == render_markdown_sanitised(BODIES[0])
    os.kill(helper._proc.pid, signal.SIGKILL)
    helper._proc.wait()
    assert helper.render(BODIES[1]) == render_markdown_sanitised(BODIES[1])  # a new one was started


def test_a_helper_that_does_not_answer_is_replaced(helper, monkeypatch):
    monkeypatch.setattr(markdown_process, "TIMEOUT_SECONDS", 0.2)
    stopped = helper._proc.pid
    os.kill(stopped, signal.SIGSTOP)  # alive but mute: the body fits the pipe, no answer comes
    try:
        assert helper.render(BODIES[0]) is None  # render it yourself
    finally:
        try:
            os.kill(stopped, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert helper.render(BODIES[0]) == render_markdown_sanitised(BODIES[0])


def test_a_busy_helper_answers_none_at_once(helper):
    result = []
    with helper._lock:
        t = threading.Thread(target=lambda: result.append(helper.render(BODIES[0])))
        t.start()
        t.join(5)
    assert result == [None]


def test_prepare_renders_here_when_the_helper_declines():
    markdown.use_renderer(lambda text: None)
    try:
        body = "A *declined* body: 91bd"
        markdown.prepare(body)
        assert render_markdown(body) == render_markdown_sanitised(body)
    finally:
        markdown.use_renderer(None)
