from django.urls import re_path

from .consumers import ThreadConsumer

websocket_urlpatterns = [
    re_path(r"^ws/threads/(?P<key>[^/]+)/?$", ThreadConsumer.as_asgi()),
]
