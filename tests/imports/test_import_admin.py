"""Staff run the import from /admin/import-comments/: upload a file, get the summary; others are sent to log in."""
from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.imports.conftest import fixture_bytes

pytestmark = pytest.mark.usefixtures("live_db")
URL = "/admin/import-comments/"


@pytest.fixture
def staff() -> Client:
    from django.contrib.auth.models import User

    user = User.objects.create_superuser(f"staff-{uuid.uuid4().hex[:8]}", "staff@example.org", "pw")
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, data: bytes, **fields) -> object:
    return client.post(URL, {"file": SimpleUploadedFile("export.xml", data), "format": "auto", **fields})


def test_staff_upload_imports_and_shows_the_summary(staff, prefix):
    page = staff.get(URL)
    assert page.status_code == 200 and b'type="file"' in page.content
    done = upload(staff, fixture_bytes("wordpress.xml", prefix))
    assert done.status_code == 200
    text = done.content.decode()
    assert "2 new threads" in text and "5 comments (1 deleted placeholder)" in text
    assert "skipped 1: unapproved (no moderation)" in text
    assert Client().get(f"/api/threads/q.~{prefix}~.3Fp.3D4").json()["comment_count"] == 3
    again = upload(staff, fixture_bytes("wordpress.xml", prefix)).content.decode()
    assert "0 new threads" in again and "5 comments already imported" in again


def test_dry_run_upload_imports_nothing(staff, prefix):
    done = upload(staff, fixture_bytes("disqus.xml", prefix), dry_run="on")
    assert done.status_code == 200 and "Dry run: nothing was imported" in done.content.decode()
    assert Client().get(f"/api/threads/~{prefix}~2020~03~river-cleanup~").status_code == 404


def test_a_broken_file_shows_the_error_and_imports_nothing(staff, prefix):
    from events.store import get_store

    head = get_store().head()
    data = fixture_bytes("wordpress.xml", prefix)
    done = upload(staff, data[: len(data) // 2])
    assert done.status_code == 400
    text = done.content.decode()
    assert "not well-formed XML at line" in text and "nothing was imported" in text
    assert get_store().head() == head


def test_only_staff_may_import(prefix):
    anonymous = Client().post(URL, {"file": SimpleUploadedFile("x.xml", fixture_bytes("wordpress.xml", prefix))})
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert Client().get(f"/api/threads/q.~{prefix}~.3Fp.3D4").status_code == 404
