"""Moderation tests: guests, a signed-in moderator, and the settings each rule needs."""
from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import ApiClient, assert_error, head  # noqa: F401  (shared by the tests here)


@pytest.fixture
def conf(monkeypatch):
    """Set THREADLOG settings for one test: conf(MODERATION="first")."""
    from django.conf import settings

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setitem(settings.THREADLOG, name, value)

    return set_


@pytest.fixture
def signin(monkeypatch):
    """Set the sign-in throttle's settings for one test: signin(SIGNIN_MAX_FAILURES=3)."""
    from django.conf import settings

    def set_(**values):
        monkeypatch.setitem(settings.THREADLOG_SECURITY, "SIGNIN_THROTTLE", True)
        for name, value in values.items():
            monkeypatch.setitem(settings.THREADLOG_SECURITY, name, value)

    return set_


def make_staff(username: str | None = None, password: str = "s3cret-pass", staff: bool = True) -> tuple[str, str]:
    from django.contrib.auth import get_user_model

    username = username or f"mod-{uuid.uuid4().hex[:8]}"
    get_user_model().objects.create_user(username, password=password, is_staff=staff)
    return username, password


@pytest.fixture
def guest(live_db) -> ApiClient:
    return ApiClient()


@pytest.fixture
def staff(live_db) -> ApiClient:
    client = ApiClient()
    username, password = make_staff()
    response = client.post("/api/session", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return client


@pytest.fixture
def new_client(live_db):
    return ApiClient
