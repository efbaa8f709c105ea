"""Subscriptions read their own writes: the handlers apply their events to the subscription tables in the append
transaction, so nothing depends on how far the notifier has got.

In-process over HTTP (Django's test client) with no notifier running, so the notifier is as far behind as a test
wants: `deliver` runs it once (and the sender, to a real SMTP server, aiosmtpd). The last test runs real servers,
on SQLite and on PostgreSQL, with requests at once.
"""
from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlsplit

import pytest

from events.store import get_store
from tests.api.conftest import ApiClient, assert_error
from tests.conftest import REDIS_URL, need_redis, unique_key

from .conftest import Browser


def deliver(smtp) -> None:
    """The notifier decides on everything appended so far, the sender sends it to the test's SMTP server."""
    from django.test import override_settings

    from threadlog.notifications import runner

    port = int(smtp.url.rsplit(":", 1)[1])
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                           EMAIL_PORT=port, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="", EMAIL_USE_TLS=False,
                           EMAIL_USE_SSL=False, EMAIL_TIMEOUT=10):
        store = get_store()
        senders = runner.Senders(store, count=1)
        try:
            runner.run_round(store, senders)
        finally:
            senders.close()


def appended(after: int, *types: str) -> list[dict]:
    """The subscription events appended after position `after` (of these types)."""
    from events.subscriptions import SUBSCRIPTIONS_STREAM

    return [{"type": e.type, "position": e.position, **e.data} for e in get_store().read_all(after, 10_000)
            if e.stream == SUBSCRIPTIONS_STREAM and (not types or e.type in types)]


def address() -> str:
    return f"{unique_key('r')}@example.com"


def subscribe(client: ApiClient, key: str, email: str, notify: str = "comments") -> None:
    response = client.post(f"/api/threads/{key}/subscriptions", {"email": email, "notify": notify})
    assert response.status_code == 202 and response.json() == {"status": "confirmation_sent"}, response.content


def mine(client: ApiClient) -> list[dict]:
    response = client.get("/api/subscriptions")
    assert response.status_code == 200, response.content
    return response.json()["subscriptions"]


def path(link: str) -> str:
    return urlsplit(link).path


def confirmations(smtp, email: str) -> list:
    return [m for m in smtp.to(email) if "Confirm" in m.message["Subject"]]


def post_comment(key: str, body: str) -> None:
    ApiClient().comment(key, body, name="Author")


@pytest.fixture
def client(live_db) -> ApiClient:
    return ApiClient()


# --- 1. asking twice makes one subscription ---------------------------------------------------------------

def test_asking_twice_at_once_makes_one_subscription_and_one_confirmation(client, smtp):
    key, email, head = unique_key("twice"), address(), get_store().head()
    subscribe(client, key, email)
    subscribe(client, key, email)
    subscribe(ApiClient(), key, email.upper())  # another browser, the same address
    requested = appended(head, "SubscriptionRequested")
    assert len(requested) == 1
    assert [(s["id"], s["notify"], s["status"]) for s in mine(client)] == [
        (requested[0]["subscription_id"], "comments", "pending")]
    subscribe(client, key, email, notify="replies")  # another kind is another subscription
    assert len(appended(head, "SubscriptionRequested")) == 2
    deliver(smtp)
    assert len(confirmations(smtp, email)) == 1  # one per address per 10 minutes, as before
    response = client.get(path(confirmations(smtp, email)[0].link("/subscriptions/confirm/")))
    assert response.status_code == 200
    subscribe(client, key, email)  # confirmed: nothing to ask again
    assert len(appended(head, "SubscriptionRequested")) == 2
    assert [s["status"] for s in mine(client)] == ["active", "active"]


def test_asking_again_after_the_resend_period_resends_the_confirmation_once(client, smtp, settings):
    """The same subscription is asked for again (its id in a second SubscriptionRequested) once the period has
    passed, and the notifier sends a new confirmation for it: a lost or expired link is not a dead end."""
    settings.NOTIFY = {**settings.NOTIFY, "RESEND_SECONDS": 1}
    key, email, head = unique_key("resend"), address(), get_store().head()
    subscribe(client, key, email)
    subscribe(client, key, email)
    deliver(smtp)
    assert len(confirmations(smtp, email)) == 1
    time.sleep(1.2)
    subscribe(client, key, email)
    subscribe(client, key, email)  # within the new period: nothing
    requested = appended(head, "SubscriptionRequested")
    assert len(requested) == 2 and requested[0]["subscription_id"] == requested[1]["subscription_id"]
    deliver(smtp)
    assert len(confirmations(smtp, email)) == 2
    assert len(mine(client)) == 1
    response = client.get(path(confirmations(smtp, email)[-1].link("/subscriptions/confirm/")))
    assert response.status_code == 200 and [s["status"] for s in mine(client)] == ["active"]


# --- 2. confirm and end right after the request; repeating them appends once -----------------------------------

def test_confirm_and_end_right_after_the_request(client, smtp):
    from threadlog.notifications.tokens import confirm_token, unsubscribe_token

    key, email, head = unique_key("quick"), address(), get_store().head()
    subscribe(client, key, email)
    (sub,) = mine(client)  # before the notifier has read the request
    for _ in range(2):
        response = client.get(f"/subscriptions/confirm/{confirm_token(sub['id'])}")
        assert response.status_code == 200 and b"Subscription confirmed" in response.content, response.content
    assert [e["type"] for e in appended(head)] == ["SubscriptionRequested", "SubscriptionConfirmed"]
    assert [s["status"] for s in mine(client)] == ["active"]
    for _ in range(2):
        response = client.client.post(f"/subscriptions/unsubscribe/{unsubscribe_token(sub['id'])}",
                                      "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200 and b"unsubscribed" in response.content, response.content
    assert [e["type"] for e in appended(head)] == ["SubscriptionRequested", "SubscriptionConfirmed",
                                                   "SubscriptionEnded"]
    other_key = unique_key("quick")
    subscribe(client, other_key, email)
    response = client.delete(f"/api/subscriptions/{mine(client)[0]['id']}")
    assert response.status_code == 200 and response.json()["status"] == "ended"
    deliver(smtp)  # the notifier reads it all now: nothing for ended subscriptions
    assert smtp.to(email) == []


def test_confirming_and_unsubscribing_twice_from_the_messages_append_once(client, smtp):
    key, email, head = unique_key("links"), address(), get_store().head()
    subscribe(client, key, email)
    deliver(smtp)
    link = path(confirmations(smtp, email)[0].link("/subscriptions/confirm/"))
    assert [client.get(link).status_code for _ in range(3)] == [200, 200, 200]
    assert len(appended(head, "SubscriptionConfirmed")) == 1
    post_comment(key, "Hello subscribers")
    deliver(smtp)
    (message,) = [m for m in smtp.to(email) if "Hello subscribers" in m.text]
    unsubscribe = path(str(message.message["List-Unsubscribe"]).strip().strip("<>"))
    for _ in range(3):
        response = client.client.post(unsubscribe, "List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200
    assert len(appended(head, "SubscriptionEnded")) == 1
    post_comment(key, "Anyone?")
    deliver(smtp)
    assert not [m for m in smtp.to(email) if "Anyone?" in m.text]


def test_a_comment_before_the_confirmation_is_not_sent_to_it(client, smtp):
    """The notifier decides a comment with the subscriptions confirmed at its position, though the handler has
    confirmed one since (the notifier was behind)."""
    from threadlog.notifications.tokens import confirm_token

    key, email = unique_key("before"), address()
    subscribe(client, key, email)
    post_comment(key, "Before the confirmation")
    client.get(f"/subscriptions/confirm/{confirm_token(mine(client)[0]['id'])}")
    post_comment(key, "After the confirmation")
    deliver(smtp)
    assert [m.text.count("After the confirmation") > 0 for m in smtp.to(email)] == [True]


# --- 3. DELETE of an ended subscription is not found ----------------------------------------------------------

def test_delete_twice_answers_not_found_the_second_time(client, smtp):
    key, email, head = unique_key("delete"), address(), get_store().head()
    subscribe(client, key, email)
    deliver(smtp)
    (sub,) = mine(client)
    response = client.delete(f"/api/subscriptions/{sub['id']}")
    assert response.status_code == 200 and response.json()["id"] == sub["id"]
    error = assert_error(client.delete(f"/api/subscriptions/{sub['id']}"), 404, "subscription_not_found")
    assert sub["id"] in error["message"]
    assert len(appended(head, "SubscriptionEnded")) == 1


# --- 4. one unsubscribe ends the duplicates older versions made --------------------------------------------------

def _duplicates(client: ApiClient, key: str, email: str) -> list[str]:
    """Two open subscriptions of one address, thread and kind, as older versions let in: appended as they did."""
    import uuid

    from events.people import person_key, seal
    from events.subscriptions import SUBSCRIPTIONS_STREAM, SubscriptionRequested

    mine(client)  # the browser's guest cookie
    token = client.client.cookies["tl_author"].value.split(":")[0]
    person = f"guest:{token}"
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    for sid in ids:
        sealed = seal(person, {"email": email}, key=person_key(person))
        get_store().append(SUBSCRIPTIONS_STREAM, [SubscriptionRequested(
            subscription_id=sid, thread=key, notify="comments", person=person, sealed_email=sealed)])
    return ids


@pytest.mark.parametrize("how", ["link", "delete"])
def test_one_unsubscribe_ends_every_duplicate(client, smtp, how):
    from threadlog.notifications.tokens import unsubscribe_token

    key, email = unique_key("dups"), address()
    ids = _duplicates(client, key, email)
    deliver(smtp)  # the notifier applies them (a log written before); one confirmation for the address
    client.get(path(confirmations(smtp, email)[0].link("/subscriptions/confirm/")))
    deliver(smtp)
    assert sorted(s["id"] for s in mine(client) if s["status"] == "active") == sorted(ids)
    head = get_store().head()
    if how == "link":
        response = client.client.post(f"/subscriptions/unsubscribe/{unsubscribe_token(ids[1])}")
    else:
        response = client.delete(f"/api/subscriptions/{ids[1]}")
    assert response.status_code == 200
    assert [e["subscription_id"] for e in appended(head, "SubscriptionEnded")] == [ids[1], ids[0]]
    assert mine(client) == []
    post_comment(key, "Nobody should hear this")
    deliver(smtp)
    assert not [m for m in smtp.to(email) if "Nobody should hear this" in m.text]


# --- 5. the sign-in address is checked as the subscription's is ------------------------------------------------

@pytest.mark.parametrize("value", ["x", "", "ab", "not an address", "a@"])
def test_sign_in_by_email_refuses_a_bad_address_with_invalid_email(client, value):
    assert_error(client.post("/api/session/email", {"email": value}), 422, "invalid_email")
    assert_error(client.post(f"/api/threads/{unique_key('bad')}/subscriptions", {"email": value}), 422, "invalid_email")


def test_the_document_describes_the_sign_in_address_as_the_subscription_address(client):
    doc = client.get("/api/openapi.json").json()

    def email_schema(path: str) -> dict:
        body = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in body:
            body = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
        assert "email" in body["required"]
        return body["properties"]["email"]

    sign_in = email_schema("/api/session/email")
    assert sign_in == email_schema("/api/threads/{key}/subscriptions")
    assert sign_in["format"] == "email" and sign_in["maxLength"] == 254 and "minLength" not in sign_in


# --- rebuild ---------------------------------------------------------------------------------------------------

def _tables(unknowable: str) -> dict:
    """The notifications' read model. `unknowable`: an erased person's address hash. When a confirmation went to it
    is the notifier's throttle state, which a rebuild cannot recompute once the requests' addresses are unreadable
    (by design: the erasure made them so), so it is left out."""
    from threadlog.notifications.models import IdentityLink, NotifyAddress, NotifyComment, NotifyThread, Subscription

    return {
        "subscriptions": sorted(Subscription.objects.values_list(
            "id", "thread_key", "notify", "person", "sealed_email", "address", "state", "ended_why", "requested_at",
            "position", "confirmed_position", "ended_position", "asked_at")),
        "links": sorted(IdentityLink.objects.values_list("guest", "reader", "position")),
        "addresses": sorted(NotifyAddress.objects.exclude(address=unknowable).values_list(
            "address", "last_confirmation_at")),
        "comments": sorted(NotifyComment.objects.values_list("comment_id", "person", "address", "status", "notified")),
        "threads": sorted(NotifyThread.objects.values_list("key", "title", "url")),
    }


def test_rebuild_gives_the_tables_the_handlers_and_the_notifier_wrote(client, smtp, settings):
    from threadlog.commands import Actor, ErasePerson, handle
    from threadlog.notifications import notifier
    from threadlog.notifications.commands import LinkGuest
    from threadlog.notifications.tokens import address_of, confirm_token

    settings.NOTIFY = {**settings.NOTIFY, "RESEND_SECONDS": 1}
    key, other, bob, carol = unique_key("rebuild"), ApiClient(), address(), address()
    ids = _duplicates(client, key, bob)  # applied late, by the notifier
    subscribe(client, key, bob, notify="replies")
    subscribe(other, key, carol)
    deliver(smtp)
    client.get(f"/subscriptions/confirm/{confirm_token(ids[0])}")  # confirms bob's three
    subscribe(client, unique_key("rebuild"), bob)  # proven: confirmed at once
    time.sleep(1.1)
    subscribe(other, key, carol)  # asked again
    client.delete(f"/api/subscriptions/{ids[0]}")  # ends the duplicate as well
    handle(LinkGuest(guest="guest:rebuild-1", reader="reader:rebuild-a"), Actor("reader:rebuild-a"))
    handle(LinkGuest(guest="guest:rebuild-1", reader="reader:rebuild-b"), Actor("reader:rebuild-b"))
    post_comment(key, "For the rebuild")
    other.get("/api/subscriptions")
    carol_person = "guest:" + other.client.cookies["tl_author"].value.split(":")[0]
    handle(ErasePerson(person=carol_person), Actor("user:staff", is_staff=True))
    subscribe(other, key, carol)  # after the erasure: a new key, a new subscription
    deliver(smtp)
    live = _tables(address_of(carol))
    assert ("guest:rebuild-1", "reader:rebuild-b") in [link[:2] for link in live["links"]]
    assert {(s[0], s[6]) for s in live["subscriptions"] if s[0] in ids} == {(ids[0], "ended"), (ids[1], "ended")}
    notifier.rebuild(get_store())
    assert _tables(address_of(carol)) == live


# --- at once, on real servers --------------------------------------------------------------------------------

def _at_once(n: int, call) -> list:
    results: list = [None] * n
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _events(server, kind: str) -> list[dict]:
    lines = server.cli("events", "tail").stdout.splitlines()
    return [e for e in map(json.loads, lines) if e["type"] == kind]


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_requests_at_once_on_two_server_processes(make_server, smtp, request, database):
    """Eight identical subscribes, then eight confirmations, then eight DELETEs, each eight at once over two
    server processes: one SubscriptionRequested, one SubscriptionConfirmed, one SubscriptionEnded, one 200."""
    need_redis()
    url = request.getfixturevalue("postgres_database").url if database == "postgres" else None
    server = make_server(database_url=url, redis_url=REDIS_URL, workers=2,
                         env={"EMAIL_URL": smtp.url, "NOTIFY_POLL_SECONDS": "0.2"})
    server.env["SITE_URL"] = server.url
    server.start()
    key, email = unique_key("once"), address()
    browsers = [Browser(server.url) for _ in range(8)]
    _at_once(8, lambda i: browsers[i].subscribe(key, email))
    assert len(_events(server, "SubscriptionRequested")) == 1
    link = smtp.wait_for(email)[0].link("/subscriptions/confirm/")
    pages = _at_once(8, lambda i: browsers[i].request("GET", link)[0])
    assert pages == [200] * 8 and len(_events(server, "SubscriptionConfirmed")) == 1
    owned = [(b, b.request("GET", "/api/subscriptions")[1]["subscriptions"]) for b in browsers]
    ((owner, (sub,)),) = [(b, subs) for b, subs in owned if subs]  # the browser whose request was appended
    answers = _at_once(8, lambda i: owner.request("DELETE", f"/api/subscriptions/{sub['id']}"))
    assert sorted(a[0] for a in answers) == [200] + [404] * 7, answers
    assert all(a[1]["error"]["code"] == "subscription_not_found" for a in answers if a[0] == 404)
    assert len(_events(server, "SubscriptionEnded")) == 1
    time.sleep(1)
    assert len(smtp.to(email)) == 1
