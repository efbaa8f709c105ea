"""`threadlog check` tells an operator what is still unsafe, and passes with the production settings of
docs/deploy.md."""
from __future__ import annotations

import os
import secrets
import subprocess

from tests.conftest import ROOT, VENV_BIN


def check(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DJANGO_SETTINGS_MODULE", "SITE_URL", "TRUSTED_PROXIES", "SECRET_KEY", "METRICS_TOKEN")}
    return subprocess.run([str(VENV_BIN / "threadlog"), "check"], env={**base, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_the_development_defaults_are_reported_unsafe():
    done = check()
    assert done.returncode == 1
    for code in ("security.W012", "security.W004", "security.W008", "threadlog.site_url", "threadlog.secret_key"):
        assert code in done.stdout, (code, done.stdout)
    assert "Traceback" not in done.stderr


def test_production_settings_pass():
    done = check(SITE_URL="https://comments.example", ALLOWED_HOSTS="comments.example",
                 TRUSTED_PROXIES="172.28.0.0/16", SECRET_KEY=secrets.token_urlsafe(50), METRICS_TOKEN="t0ken",
                 REDIS_URL="redis://127.0.0.1:6379/0")
    assert done.returncode == 0, done.stdout
    assert "ok: nothing unsafe found" in done.stdout
    assert "WARNING" not in done.stdout and "ERROR" not in done.stdout


def test_each_unsafe_choice_is_named():
    prod = dict(SITE_URL="https://comments.example", ALLOWED_HOSTS="comments.example",
                TRUSTED_PROXIES="172.28.0.0/16", SECRET_KEY=secrets.token_urlsafe(50))
    cases = {
        "threadlog.allowed_hosts": {"ALLOWED_HOSTS": "other.example"},
        "threadlog.allowed_hosts_any": {"ALLOWED_HOSTS": "*"},
        "threadlog.trusted_proxies": {"TRUSTED_PROXIES": ""},
        "threadlog.csp": {"CSP": "off"},
        "threadlog.rate_limits": {"RATE_LIMITS": "off"},
        "threadlog.signin_throttle": {"SIGNIN_THROTTLE": "off"},
        "security.W018": {"DEBUG": "1"},
    }
    for code, change in cases.items():
        done = check(**{**prod, **change})
        assert done.returncode == 1 and code in done.stdout, (code, done.stdout)
