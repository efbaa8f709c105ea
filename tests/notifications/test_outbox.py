"""The outbox across crashes, a separate notifier process (web nodes do not send), erasure, and retries that
give up visibly."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from benchmarks._servers import free_port
from tests.conftest import VENV_BIN, ROOT, unique_key

from .conftest import Browser
from .test_email_flow import confirm

pytestmark = pytest.mark.slow


class Notifier:
    """`threadlog notify --follow` as a process of its own, for one server's database."""

    def __init__(self, server, email_url: str, **env: str):
        self.log = server.tmp / f"notifier-{time.monotonic_ns()}.log"
        environment = {**server.env, "EMAIL_URL": email_url, "NOTIFY_POLL_SECONDS": "0.2", **env}
        self.proc = subprocess.Popen([str(VENV_BIN / "threadlog"), "notify", "--follow"], env=environment, cwd=ROOT,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def status(server) -> dict:
    return json.loads(server.cli("notify", "status", "--json", check=False).stdout)


def wait_status(server, ok, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        report = status(server)
        if ok(report):
            return report
        if time.monotonic() > deadline:
            raise AssertionError(report)
        time.sleep(0.2)


@pytest.fixture
def quiet_server(make_server, smtp):
    """Web nodes that do not send (NOTIFIER=off): a `threadlog notify` process does."""
    server = make_server(demo=False, env={"NOTIFIER": "off", "EMAIL_URL": smtp.url})
    server.env["SITE_URL"] = server.url
    server.start()
    return server


def test_killed_between_outbox_write_and_send_the_message_arrives_once(quiet_server, smtp):
    server, key = quiet_server, unique_key("crash")
    alice, bob = Browser(server.url), Browser(server.url)
    alice.post_comment(key, "Opening", name="Alice")
    bob.subscribe(key, "bob@example.com")
    time.sleep(1.0)
    assert smtp.to("bob@example.com") == []  # the web node decides and sends nothing itself
    assert status(server)["checkpoint"] < status(server)["head"]

    notifier = Notifier(server, smtp.url)
    confirm(smtp, bob, "bob@example.com")
    notifier.kill()

    # a notifier that cannot reach the mail server: it writes the outbox row, fails to send, is killed
    dead_smtp = f"smtp://127.0.0.1:{free_port()}"
    notifier = Notifier(server, dead_smtp, NOTIFY_RETRY_SECONDS="1", NOTIFY_MAX_ATTEMPTS="1000")
    comment = alice.post_comment(key, "Are you there?", name="Alice")
    report = wait_status(server, lambda r: r["pending"] == 1 and r["retrying"] == 1)
    assert report["checkpoint"] == report["head"] and "Connection refused" in report["retries"][0]["error"]
    notifier.kill()
    assert len(smtp.to("bob@example.com")) == 1

    notifier = Notifier(server, smtp.url)  # restarted: the message arrives (when its back-off is over), once
    got = smtp.wait_for("bob@example.com", 2, timeout=120)[-1]
    assert f"#comment-{comment['id']}" in got.text
    wait_status(server, lambda r: r["pending"] == 0)
    time.sleep(1.0)
    notifier.kill()
    assert len(smtp.to("bob@example.com")) == 2
    report = status(server)
    assert report["failed"] == 0 and report["sent"] == 2


def test_a_refused_address_gives_up_and_ends_the_subscription(quiet_server, smtp):
    server, key = quiet_server, unique_key("bounce")
    bob, alice = Browser(server.url), Browser(server.url)
    notifier = Notifier(server, smtp.url)
    try:
        bob.subscribe(key, "bob@example.com")
        confirm(smtp, bob, "bob@example.com")
        smtp.refuse["bob@example.com"] = "550 5.1.1 no such mailbox"
        alice.post_comment(key, "Hello", name="Alice")
        report = wait_status(server, lambda r: r["failed"] == 1)
        assert "bounced" in report["recent_failures"][0]["error"]
        result = server.cli("notify", "status", check=False)
        assert result.returncode == 1 and "GAVE UP" in result.stdout  # given up, visibly
        events = server.cli("events", "tail").stdout
        assert '"why": "bounced"' in events
    finally:
        notifier.kill()


def test_retries_back_off_and_give_up_after_the_limit(quiet_server):
    server, key = quiet_server, unique_key("giveup")
    dead_smtp = f"smtp://127.0.0.1:{free_port()}"
    notifier = Notifier(server, dead_smtp, NOTIFY_RETRY_SECONDS="0.1", NOTIFY_MAX_ATTEMPTS="3")
    try:
        Browser(server.url).subscribe(key, "bob@example.com")
        report = wait_status(server, lambda r: r["failed"] == 1)
        assert report["recent_failures"][0]["attempts"] == 3 and report["pending"] == 0
    finally:
        notifier.kill()


def test_erase_person_ends_their_subscriptions(mail_server, smtp):
    key = unique_key("erase")
    bob, alice, carol = Browser(mail_server.url), Browser(mail_server.url), Browser(mail_server.url)
    bob.subscribe(key, "bob@example.com")
    confirm(smtp, bob, "bob@example.com")
    carol.subscribe(key, "carol@example.com")
    confirm(smtp, carol, "carol@example.com")
    person = "guest:" + [c for c in bob.jar if c.name == "tl_author"][0].value.split(":")[0]
    # the signed cookie's value is "<token>:<signature>"; the person is guest:<token>
    result = mail_server.cli("erase-person", person, check=False)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in mail_server.cli("events", "tail").stdout.splitlines()]
    ended = [e for e in events if e["type"] == "SubscriptionEnded"]
    assert [e["data"]["why"] for e in ended] == ["erased"]
    requested = [e for e in events if e["type"] == "SubscriptionRequested"]
    assert all("bob@example.com" not in json.dumps(e) for e in events)  # sealed, never in plain text
    readable = mail_server.cli("export", "--readable").stdout
    assert "carol@example.com" in readable and "bob@example.com" not in readable and requested
    alice.post_comment(key, "After the erasure", name="Alice")
    smtp.wait_for("carol@example.com", 2)
    time.sleep(1.0)
    assert len(smtp.to("bob@example.com")) == 1


def test_compose_runs_a_notifier_service_and_web_nodes_do_not_send():
    from tests.ops.test_compose_proxy import resolved

    services = resolved()["services"]
    assert services["notifier"]["command"] == ["threadlog", "notify", "--follow"]
    assert "NOTIFIER" not in services["notifier"]["environment"]
    webs = [name for name, s in services.items() if "serve" in (s.get("command") or [])]
    assert len(webs) >= 2
    for web in webs:
        assert services[web]["environment"]["NOTIFIER"] == "off"
        assert services[web]["environment"]["DATABASE_URL"].startswith("postgres://")


@pytest.mark.postgres
def test_on_postgresql_with_two_notifiers_each_message_is_sent_once(make_server, smtp, postgres_database):
    """Two web nodes on one PostgreSQL database, each with its own notifier (the embedded default): the
    checkpoint is moved by one of them per batch and the senders claim rows, so every message goes out once."""
    env = {"EMAIL_URL": smtp.url, "NOTIFY_POLL_SECONDS": "0.1"}
    node_a = make_server(database_url=postgres_database.url, env=env)
    node_b = make_server(database_url=postgres_database.url, env=env, migrate=False)
    for node in (node_a, node_b):
        node.env["SITE_URL"] = node_a.url
        node.start()
    key = unique_key("pg")
    readers = [Browser(node_a.url) for _ in range(3)]
    for i, reader in enumerate(readers):
        reader.subscribe(key, f"reader{i}@example.com")
        confirm(smtp, reader, f"reader{i}@example.com")
    author = Browser(node_b.url)
    for n in range(5):
        author.post_comment(key, f"Comment {n}", name="Author")
    for i in range(3):
        smtp.wait_for(f"reader{i}@example.com", 6)
    time.sleep(1.5)
    for i in range(3):
        subjects = [str(m.message["Subject"]) for m in smtp.to(f"reader{i}@example.com")]
        assert len(subjects) == 6, subjects
    ids = [str(m.message["Message-ID"]).strip() for m in smtp.messages]
    assert len(ids) == len(set(ids))
