"""Helpers for the HTTP API tests: a JSON client that sends the write guards' headers, and error checks."""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

ORIGIN = "http://testserver"


class ApiClient:
    """Django's test Client speaking JSON with an Origin header; one instance is one guest (its cookies)."""

    def __init__(self) -> None:
        self.client = Client()

    @staticmethod
    def _body(data: Any) -> str | bytes:
        return data if isinstance(data, (str, bytes)) else json.dumps(data)

    def get(self, url: str, **params: Any):
        return self.client.get(url, params)

    def post(self, url: str, data: Any, **extra: Any):
        extra.setdefault("HTTP_ORIGIN", ORIGIN)
        extra.setdefault("content_type", "application/json")
        return self.client.post(url, self._body(data), **extra)

    def patch(self, url: str, data: Any, **extra: Any):
        extra.setdefault("HTTP_ORIGIN", ORIGIN)
        extra.setdefault("content_type", "application/json")
        return self.client.patch(url, self._body(data), **extra)

    def delete(self, url: str, **extra: Any):
        extra.setdefault("HTTP_ORIGIN", ORIGIN)
        return self.client.delete(url, **extra)

    # --- the endpoints ---------------------------------------------------------------------------

    def comment(self, key: str, body: str = "hello", *, name: str = "Ann", parent_id: str | None = None,
                **extra: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"body": body, "author_name": name}
        if parent_id:
            payload["parent_id"] = parent_id
        response = self.post(f"/api/threads/{key}/comments", payload, **extra)
        assert response.status_code == 201, response.content
        return response.json()["comment"]

    def vote(self, comment_id: str, value: int) -> dict[str, Any]:
        response = self.post(f"/api/comments/{comment_id}/vote", {"value": value})
        assert response.status_code == 200, response.content
        return response.json()

    def comments(self, key: str, **params: Any) -> dict[str, Any]:
        response = self.get(f"/api/threads/{key}/comments", **params)
        assert response.status_code == 200, response.content
        return response.json()


def assert_error(response, status: int, code: str | None = None) -> dict[str, Any]:
    """A 4xx whose body is exactly {"error": {"code", "message", ...}}."""
    assert response.status_code == status, (response.status_code, response.content)
    body = json.loads(response.content)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    return error


def head() -> int:
    from events.store import EventStore

    return EventStore().head()


@pytest.fixture
def api(live_db) -> ApiClient:
    return ApiClient()


@pytest.fixture
def make_client(live_db):
    return ApiClient
