"""ASGI entry point: HTTP through Django, WebSockets through the live consumers (origin-checked)."""
import asyncio
import io
import os
import sys
from concurrent.futures import ThreadPoolExecutor
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


# Every HTTP request's Django work, one at a time (OneCallASGIHandler), except the API writes done on the
# event loop itself. The WebSocket consumers' few database reads stay on asgiref's thread (channels'
# database_sync_to_async), with a connection of their own.
REQUEST_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="threadlog-requests")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _as_sync(fn, *args):
    """Call `fn` on this thread, the event loop's, as sync code: no loop counts as running meanwhile, so Django
    uses this thread's own database connection and its async-safety check does not apply. `fn` blocks the
    loop, knowingly and briefly (OneCallASGIHandler.inline)."""
    loop = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        return fn(*args)
    finally:
        asyncio.events._set_running_loop(loop)


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
    """Django's ASGI handler, with each request's sync work done in one call, on one thread.

    Django's own handler wraps each request in a ThreadSensitiveContext, so a sync view runs on a fresh
    thread with a fresh database connection (opened, configured and discarded every request; persistent
    connections would leak one per finished thread). It also runs the middleware chain in async mode, where
    each of Django's middleware classes calls its sync hooks through sync_to_async: two hops between the event
    loop and a worker thread per middleware, plus one for each of the request signals, the view and the
    close. Measured on this app, those hops were nine tenths of a `GET /healthz`.

    Here the middleware chain is built in sync mode and the whole request (request_started, middleware,
    view, close and request_finished) runs in one call:

    - API writes on a SQLite file (`inline`) run on the event loop itself, when the append lock can be taken
      without waiting. SQLite lets one writer in at a time anyway, and the write is a few hundred microseconds
      of CPU with no network wait; handing it to a thread cost more than the write (the hop both ways, and
      the two threads taking the interpreter lock from each other at every SQLite call: a post under load
      cost about 1.7 ms of CPU that way, 1.2 ms inline). If another writer (a process, the command line)
      holds the lock, the request goes to the thread below and waits there; so it does when a connection
      outside the append lock (a session or admin write) holds SQLite's write lock (the loop's connection does
      not retry: busy_timeout 0), or when the read model must first catch up with the log (an import). Those
      two are found inside the request, which then ends without writing (WouldWait) and runs again on the
      thread: the loop never waits on a lock, and never replays a backlog.
    - Everything else (reads, pages, admin, audit, any write on PostgreSQL, whose queries wait on the network)
      runs on one thread of its own, REQUEST_THREAD: one long-lived connection, writers queued in order. The
      hop is a plain run_in_executor: asgiref's sync_to_async (context propagation, thread-sensitive
      executors, nested async_to_sync) cost a twentieth of a post's instructions. Nothing in a request calls
      async_to_sync (the live doorbell hands its publish to the loop, live.publisher.serving).

    The body is read on the event loop before the call, the response sent after it.
    """

    def __init__(self):
        from events.sql import sqlite_file
        from events.store import get_store
        from threadlog.live import publisher  # imports models: once Django is set up

        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.api = ApiHandler()
        self.api.load_middleware(is_async=False)
        self._serving = publisher.serving
        self._loop: asyncio.AbstractEventLoop | None = None
        self._store = get_store
        self.inline = bool(settings.THREADLOG["INLINE_WRITES"]) and sqlite_file(settings.DATABASES["default"]) is not None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._serving(loop)  # writers on the request thread ring the Redis doorbell from this loop
            self._loop = loop
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = None
            if self.inline and scope["method"] in WRITE_METHODS and scope["path"].startswith(settings.API_PREFIX):
                body = body_file.read()  # kept: a request that ends without writing (WouldWait) runs again
                body_file.seek(0)
                response = _as_sync(self._respond_unless_locked, scope, body_file)
                if response is None:
                    body_file.close()
                    body_file = io.BytesIO(body)
            if response is None:
                response = await loop.run_in_executor(REQUEST_THREAD, self._respond, scope, body_file)
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:  # its iterator ran during send_response; close it (and end the request)
                    await loop.run_in_executor(REQUEST_THREAD, response.close)
        finally:
            body_file.close()

    def _respond_unless_locked(self, scope, body_file):
        """The request, on the event loop, if this process can take the append lock without waiting and the
        write needs no other wait; else None, and the request goes to REQUEST_THREAD, which may wait. Another
        writer holds the append lock, or (WouldWait, nothing written) a connection outside it holds SQLite's
        write lock, or the read model must first catch up with the log."""
        with self._store().append_lock_taken() as taken:
            if not taken:
                return None
            response = self._respond(scope, body_file)
        return None if getattr(response, "run_elsewhere", False) else response

    def _respond(self, scope, body_file):
        """The request from start to finish, on the sync thread; a non-streaming response is closed here
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

    server_tuning.skip_form_parsing()
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
