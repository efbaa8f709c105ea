"""The readers' non-JSON pages: Atom feeds, identicons and the count.js loader."""
from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from events.store import THREAD_KEY, get_store
from projections.models import ThreadView

from ..pages import STATIC_ROOT
from .avatars import NAME, identicon_svg
from .feeds import site_feed, thread_feed

ATOM = "application/atom+xml; charset=utf-8"


def not_modified(request: HttpRequest, etag: str) -> bool:
    return etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]


def _cached(request: HttpRequest, etag: str, build, content_type: str, cache: str) -> HttpResponse:
    """A response validated by `etag`: 304 when the client has it, else `build()`."""
    response = HttpResponse(status=304) if not_modified(request, etag) else HttpResponse(build(), content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = cache
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def thread_feed_view(request: HttpRequest, key: str) -> HttpResponse:
    thread = ThreadView.objects.filter(pk=key).first() if THREAD_KEY.match(key) else None
    if thread is None:
        raise Http404("no such thread")
    etag = f'"feed-{thread.key}-{thread.last_position}"'
    return _cached(request, etag, lambda: thread_feed(request, thread.key, thread.title or thread.key), ATOM,
                   "public, max-age=60")


@require_safe
def site_feed_view(request: HttpRequest) -> HttpResponse:
    etag = f'"feed-{get_store().head()}"'
    return _cached(request, etag, lambda: site_feed(request), ATOM, "public, max-age=60")


@require_safe
def avatar(request: HttpRequest, name: str) -> HttpResponse:
    if not NAME.match(name):
        raise Http404("no such avatar")
    return _cached(request, f'"{name}"', lambda: identicon_svg(name), "image/svg+xml",
                   "public, max-age=31536000, immutable")


@require_safe
def count_js(request: HttpRequest) -> HttpResponse:
    """The loader a site's index page includes: <script src="https://host/count.js" async></script>."""
    try:
        body = (STATIC_ROOT / "threadlog" / "count-loader.js").read_text()
    except FileNotFoundError:
        raise Http404("count.js missing") from None
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response
