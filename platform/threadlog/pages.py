"""The reader's pages: the demo article with its thread, any thread at /t/<key>, and the embed script."""
from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from events.store import get_store
from projections.models import ThreadView

from .api.identity import identify

DEMO_KEY = "demo"
THREAD_KEY = re.compile(r"^[A-Za-z0-9._~-]{1,200}$")


def _page(request: HttpRequest, key: str, template: str, extra: dict | None = None) -> HttpResponse:
    thread = ThreadView.objects.filter(pk=key).first()
    context = {
        "thread_key": key,
        "thread_title": thread.title if thread and thread.title else key,
        "comment_count": thread.comment_count if thread else 0,
        "edit_window": settings.THREADLOG["EDIT_WINDOW_SECONDS"],
        **(extra or {}),
    }
    response = render(request, template, context)
    identify(request).set_cookies(response)  # the guest's voter id and author token, from the first visit
    return response


@require_GET
def article(request: HttpRequest) -> HttpResponse:
    return _page(request, DEMO_KEY, "threadlog/article.html")


@require_GET
def thread_page(request: HttpRequest, key: str) -> HttpResponse:
    if not THREAD_KEY.match(key):
        raise Http404("no such thread")
    return _page(request, key, "threadlog/thread.html")


@require_GET
def embed_js(request: HttpRequest) -> HttpResponse:
    path = settings.BASE_DIR / "frontend" / "static" / "threadlog" / "embed.js"
    try:
        body = path.read_text()
    except FileNotFoundError:
        raise Http404("embed.js missing") from None
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "head": get_store().head()})
