from __future__ import annotations

import secrets

import pytest

from tests.conftest import Server

PROXY = "127.0.0.2"  # plays the trusted reverse proxy (TRUSTED_PROXIES); 127.0.0.1 is anyone else


@pytest.fixture(scope="module")
def proxied_site(tmp_path_factory):
    """A daphne behind a (pretend) proxy at 127.0.0.2, rate limits on: 3 posts per guest, 60 per IP."""
    server = Server(tmp_path_factory.mktemp("proxied"), demo=True, env={
        "TRUSTED_PROXIES": f"{PROXY}/32", "RATE_LIMITS": "on", "RATE_POST": "3/86400",
        "SECRET_KEY": secrets.token_urlsafe(40),
    })
    server.start()
    yield server
    server.stop()
