"""The bare Channels baseline, served by daphne (`daphne bare_channels.asgi:application` from benchmarks/).

- WebSocket (any path): an AsyncJsonWebsocketConsumer that joins the group "bench" (Channels' own `groups`
  attribute: group_add on connect, before accept) and sends each group message's frame with send_json.
- HTTP POST /send: group_send of a small frame {type, seq, t} to the group; answers {"seq", "t"}, where t is
  time.time() taken just before group_send (the baseline's "commit" moment).
- HTTP GET /healthz: "ok".
"""
import json
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bare_channels.settings")

import django  # noqa: E402

django.setup()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter  # noqa: E402

GROUP = "bench"


class BenchConsumer(AsyncJsonWebsocketConsumer):
    groups = [GROUP]

    async def bench_frame(self, event):
        await self.send_json(event["frame"])


_seq = 0


async def http_app(scope, receive, send):
    global _seq
    while True:  # drain the request body
        message = await receive()
        if not message.get("more_body"):
            break
    status, body = 200, b"ok"
    if scope["path"] == "/send" and scope["method"] == "POST":
        _seq += 1
        t = time.time()
        await get_channel_layer().group_send(
            GROUP, {"type": "bench.frame", "frame": {"type": "event", "seq": _seq, "t": t}})
        body = json.dumps({"seq": _seq, "t": t}).encode()
    elif scope["path"] != "/healthz":
        status, body = 404, b"not found"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


application = ProtocolTypeRouter({"http": http_app, "websocket": BenchConsumer.as_asgi()})
