"""ASGI entry point: HTTP through Django, WebSockets through the live consumers (origin-checked)."""
import asyncio
import os
import sys
from pathlib import Path

_platform = str(Path(__file__).resolve().parent.parent)
if _platform not in sys.path:
    sys.path.insert(0, _platform)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threadlog.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core import signals  # noqa: E402
from django.core.exceptions import RequestAborted  # noqa: E402
from django.core.handlers.asgi import ASGIHandler, get_script_prefix  # noqa: E402
from django.core.handlers.base import BaseHandler  # noqa: E402
from django.urls import set_script_prefix  # noqa: E402


class ApiHandler(BaseHandler):
    """The middleware chain of the JSON API: settings.API_MIDDLEWARE, not the pages' MIDDLEWARE.

    The page middleware (CSRF, messages, trailing-slash redirects, framing) does nothing for a csrf-exempt JSON
    view, yet took about a fifth of the instructions of a small API request. Django builds one chain per handler
    from settings.MIDDLEWARE, so this handler builds its chain from the API list by the same loader."""

    def load_middleware(self, is_async: bool = False) -> None:
        pages = settings.MIDDLEWARE
        settings.MIDDLEWARE = settings.API_MIDDLEWARE  # read by the loader only, once, at start-up
        try:
            super().load_middleware(is_async=is_async)
        finally:
            settings.MIDDLEWARE = pages


class OneCallASGIHandler(ASGIHandler):
    """Django's ASGI handler, with each request's sync work done in one call, on a thread that keeps its connection.

    Django's own handler wraps each request in a ThreadSensitiveContext, so a sync view runs on a fresh
    thread with a fresh database connection (opened, configured and discarded every request; persistent
    connections would leak one per finished thread). It also runs the middleware chain in async mode, where
    each of Django's middleware classes calls its sync hooks through sync_to_async: two hops between the event
    loop and a worker thread per middleware, plus one for each of the request signals, the view and the
    close. Measured on this app, those hops were nine tenths of a `GET /healthz`.

    Here the middleware chain is built in sync mode and the whole request (request_started, middleware,
    view, close and request_finished) runs in one call on a thread of `threadlog.serving.pools`: reads on one of
    a few read threads, side by side; writes on the write thread(s), in arrival order. Each thread keeps its
    database connection. The hop is a plain run_in_executor: asgiref's sync_to_async (context propagation,
    thread-sensitive executors, nested async_to_sync) cost a twentieth of a post's instructions. Nothing in a
    request calls async_to_sync (the live doorbell hands its publish to the loop, live.publisher.serving).

    The event loop only reads the body before the call and sends the response after it: it never runs a view,
    so it never waits for a lock or the database. Expensive reads leave the process altogether
    (`threadlog.serving.expensive`).
    """

    def __init__(self):
        from threadlog.live import publisher  # imports models: once Django is set up
        from threadlog.serving import pools

        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.api = ApiHandler()
        self.api.load_middleware(is_async=False)
        self._serving = publisher.serving
        self._pool_for = pools.for_method
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._serving(loop)  # writers on the write thread ring the Redis doorbell from this loop
            if settings.THREADLOG["LOOP_WATCH_FILE"]:
                from threadlog.serving.loopwatch import watch

                loop.create_task(watch(settings.THREADLOG["LOOP_WATCH_FILE"]))
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        pool = self._pool_for(scope["method"])
        try:
            response = await loop.run_in_executor(pool, self._respond, scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:  # its iterator ran during send_response; close it (and end the request)
                    await loop.run_in_executor(pool, response.close)
        finally:
            body_file.close()

    def _respond(self, scope, body_file):
        """The request from start to finish, on a request thread; a non-streaming response is closed here
        (its content is already in memory), which ends the request for Django (request_finished)."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            handler = self.api if request.path.startswith(settings.API_PREFIX) else self
            response = handler.get_response(request)
            response._handler_class = self.__class__
        if not response.streaming:
            response.close()
        return response


django.setup(set_prefix=False)
django_asgi_app = OneCallASGIHandler()  # build Django before importing routing (it imports models)

if os.environ.get("THREADLOG_SERVER"):  # under `threadlog serve`
    from events.sql import sqlite_file  # noqa: E402
    from threadlog import server_tuning  # noqa: E402
    from threadlog.serving import expensive  # noqa: E402

    server_tuning.skip_form_parsing()
    server_tuning.skip_twisted_access_log()
    expensive.start()
    if settings.THREADLOG["MARKDOWN_PROCESS"]:
        from projections.markdown import use_renderer  # noqa: E402
        from threadlog.serving.markdown_process import MarkdownProcess  # noqa: E402

        use_renderer(MarkdownProcess().start().render)
    if (_db_file := sqlite_file(settings.DATABASES["default"])) is not None:
        server_tuning.WalCheckpointer(_db_file).start()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from threadlog.live.origin import EmbedOriginValidator  # noqa: E402
from threadlog.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": EmbedOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)

if os.environ.get("THREADLOG_SERVER"):
    server_tuning.freeze_startup_heap()
