"""The reader's pages: the demo article with its thread, any thread at /t/<key>, and the embed script."""
from __future__ import annotations


from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.static import serve

from events.store import THREAD_KEY, get_store
from projections.models import ThreadView

from .api.identity import identify

DEMO_KEY = "demo"


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


STATIC_ROOT = settings.BASE_DIR / "frontend" / "static"
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


@require_GET
def static_file(request: HttpRequest, path: str) -> HttpResponse:
    """The page's and the widget's assets from frontend/static, and the admin's from Django (daphne serves no
    static files by itself).

    `serve` joins the path safely (no `..`, no absolute paths, no directory listings) and answers
    If-Modified-Since. Modules are fetched in CORS mode by embedding pages, hence Access-Control-Allow-Origin.
    """
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix not in STATIC_TYPES:
        raise Http404("no such file")
    try:
        response = serve(request, path, document_root=str(STATIC_ROOT))
    except Http404:
        # The apps' own assets (the admin's CSS, JS and icons), found as collectstatic would find them; a path
        # that climbs or is absolute is not looked up.
        parts = path.replace("\\", "/").split("/")
        found = finders.find(path) if path[:1] != "/" and ".." not in parts and "" not in parts else None
        if not found:
            raise
        found_path = Path(found)
        response = serve(request, found_path.name, document_root=str(found_path.parent))
    response["Content-Type"] = STATIC_TYPES[suffix]
    response["Cache-Control"] = "public, max-age=60, must-revalidate"
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def embed_js(request: HttpRequest) -> HttpResponse:
    path = STATIC_ROOT / "threadlog" / "embed.js"
    try:
        body = path.read_text()
    except FileNotFoundError:
        raise Http404("embed.js missing") from None
    # The widget cannot read the page's template context: hand it the edit window here.
    body = body.replace("/*EDIT_WINDOW*/900", str(int(settings.THREADLOG["EDIT_WINDOW_SECONDS"])))
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "head": get_store().head()})
