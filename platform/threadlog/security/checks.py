"""`threadlog check`: what is still unsafe in this configuration, for an operator before going live.

Django's own deployment checks (`check --deploy`: DEBUG, SECRET_KEY, HSTS, secure cookies, SSL redirect, …) and
threadlog's (SITE_URL, TRUSTED_PROXIES, ALLOWED_HOSTS, CSP, throttles, METRICS_TOKEN). Errors and warnings make
it exit 1; notes do not. docs/deploy.md lists the settings under which it passes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

# Django deployment checks that are a choice, not a fault: HSTS preload is a commitment to browsers' preload
# lists that an operator makes on purpose (HSTS_PRELOAD=1).
NOTES_ONLY = {"security.W021"}


@dataclass
class Finding:
    level: str  # "error", "warning" or "note"
    code: str
    message: str


def _ours() -> list[Finding]:
    found: list[Finding] = []
    add = lambda level, code, message: found.append(Finding(level, code, message))  # noqa: E731
    site = urlsplit(settings.SITE_URL) if settings.SITE_URL else None
    if site is None:
        add("warning", "threadlog.site_url", "SITE_URL is unset: set it to the public https:// address; it switches "
            "on secure cookies, HSTS and the redirect to HTTPS")
    elif site.scheme != "https":
        add("warning", "threadlog.site_url_http", f"SITE_URL {settings.SITE_URL} is not https: cookies travel in "
            "clear and there is no HSTS")
    if site is not None and site.hostname and not _host_allowed(site.hostname):
        add("error", "threadlog.allowed_hosts", f"ALLOWED_HOSTS does not include {site.hostname} (SITE_URL): every "
            "request to the site would answer 400")
    if "*" in settings.ALLOWED_HOSTS:
        add("error", "threadlog.allowed_hosts_any", "ALLOWED_HOSTS contains '*': any Host is answered, which lets a "
            "DNS-rebinding page read the API")
    if site is not None and site.scheme == "https" and not settings.TRUSTED_PROXIES:
        add("warning", "threadlog.trusted_proxies", "SITE_URL is https but TRUSTED_PROXIES is empty: threadlog "
            "serve speaks plain HTTP, so behind a TLS proxy nothing tells it a request was HTTPS (every request is "
            "redirected) and every client shares the proxy's IP in the rate limits")
    if not os.environ.get("SECRET_KEY"):
        add("warning", "threadlog.secret_key", "SECRET_KEY is not set in the environment (a key was made in "
            "var/secret_key): several nodes must share one, and it must survive a redeploy")
    if settings.CONTENT_SECURITY_POLICY is None:
        add("warning", "threadlog.csp", "CSP is off (or report-only): pages that render other people's text "
            "run without a Content-Security-Policy")
    if not settings.THREADLOG["RATE_LIMITS"]:
        add("warning", "threadlog.rate_limits", "RATE_LIMITS is off: nothing slows a flood of posts or votes")
    if not settings.THREADLOG_SECURITY["SIGNIN_THROTTLE"]:
        add("warning", "threadlog.signin_throttle", "SIGNIN_THROTTLE is off: password guesses are not limited")
    if not settings.THREADLOG_OPS["METRICS_TOKEN"]:
        add("note", "threadlog.metrics_token", "METRICS_TOKEN is unset: /metrics answers signed-in staff only "
            "(a Prometheus server needs the token)")
    if not settings.REDIS_URL:
        add("note", "threadlog.redis", "REDIS_URL is unset: one process only (live updates and rate limits are "
            "per process)")
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        add("note", "threadlog.sqlite", "the database is a SQLite file: fine for one host; several hosts need "
            "PostgreSQL")
    return found


def _host_allowed(host: str) -> bool:
    from django.utils.http import is_same_domain

    return any(is_same_domain(host, pattern) for pattern in settings.ALLOWED_HOSTS)


def findings() -> list[Finding]:
    """Django's deployment checks followed by threadlog's."""
    found = []
    for message in checks.run_checks(include_deployment_checks=True):
        if message.is_silenced():
            continue
        level = ("note" if message.id in NOTES_ONLY or message.level < checks.WARNING
                 else "error" if message.level >= checks.ERROR else "warning")
        text = str(message.msg) + (f" ({message.hint})" if message.hint and level != "note" else "")
        found.append(Finding(level, message.id or "django", text))
    return found + _ours()


def run(out) -> int:
    found = findings()
    for f in found:
        out.write(f"{f.level.upper():8} {f.code}: {f.message}\n")
    bad = [f for f in found if f.level != "note"]
    out.write(f"{len(bad)} problem(s), {len(found) - len(bad)} note(s)\n" if bad
              else f"ok: nothing unsafe found ({len(found)} note(s))\n")
    return 1 if bad else 0
