"""ASGI entry point: HTTP through Django, WebSockets through the live consumers (origin-checked)."""
import os
import sys
from pathlib import Path

_platform = str(Path(__file__).resolve().parent.parent)
if _platform not in sys.path:
    sys.path.insert(0, _platform)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threadlog.settings")

import django  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402


class SharedThreadASGIHandler(ASGIHandler):
    """Django's ASGI handler without a new thread per request.

    Django wraps each request in a ThreadSensitiveContext, so a sync view runs on a fresh thread with a fresh
    database connection (opened, configured and discarded every request; persistent connections would leak
    one per finished thread). Here every request's sync code runs on asgiref's one shared sync thread, the
    same one the WebSocket consumers' database calls use: one long-lived connection per process, and writers
    of one process queue in order instead of polling SQLite's lock. Views are short; the event loop (and so
    every WebSocket) never waits on them.
    """

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)


django.setup(set_prefix=False)
django_asgi_app = SharedThreadASGIHandler()  # build Django before importing routing (it imports models)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from threadlog.live.origin import EmbedOriginValidator  # noqa: E402
from threadlog.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": EmbedOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
