from django.urls import re_path

from threadlog.moderation.live import moderation_websocket

from .consumers import ThreadConsumer

websocket_urlpatterns = [
    re_path(r"^ws/threads/(?P<key>[^/]+)/?$", ThreadConsumer.as_asgi()),
    re_path(r"^ws/moderation/?$", moderation_websocket),
]
