"""WebSocket origin check: the site's own hosts (as AllowedHostsOriginValidator) plus the embedding origins.

A handshake with no Origin header comes from a non-browser client, which cross-site WebSocket hijacking cannot
use, so it is let through; a browser always sends Origin and is checked.
"""
from __future__ import annotations

from channels.security.websocket import OriginValidator
from django.conf import settings


class EmbedOriginValidator(OriginValidator):
    def __init__(self, application):
        allowed = list(settings.ALLOWED_HOSTS) + list(settings.EMBED_ORIGINS)
        if settings.DEBUG and not settings.ALLOWED_HOSTS:
            allowed += [".localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed)

    def valid_origin(self, parsed_origin) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)
