"""ASGI entry point: HTTP through Django, WebSockets through the live consumers (origin-checked)."""
import os
import sys
from pathlib import Path

_platform = str(Path(__file__).resolve().parent.parent)
if _platform not in sys.path:
    sys.path.insert(0, _platform)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threadlog.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()  # build Django before importing routing (it imports models)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from threadlog.live.origin import EmbedOriginValidator  # noqa: E402
from threadlog.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": EmbedOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
