"""threadlog: the Django project (settings, ASGI app, HTTP API, WebSocket consumers, admin, CLI)."""
