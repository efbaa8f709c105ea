"""E-mail settings from the environment (read by threadlog.settings before Django starts: no Django imports).

EMAIL_URL            smtp://user:pass@host:port (?tls=1 for STARTTLS, ?ssl=1 or smtps:// for TLS from the start),
                     parsed by dj-email-url; unset: every message is written to var/mail/ as an .eml file.
DEFAULT_FROM_EMAIL   the From: of every message.
SITE_URL             the public base URL in links (default http://HOST:PORT).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_email_url

FILE_BACKEND = "threadlog.notifications.mailfile.EmailBackend"


def email_settings(var_dir: Path) -> dict[str, object]:
    """Django's EMAIL_* settings for EMAIL_URL (or the file back end writing to var/mail/)."""
    url = os.environ.get("EMAIL_URL", "").strip()
    if not url:
        return {"EMAIL_BACKEND": FILE_BACKEND, "EMAIL_FILE_PATH": str(var_dir / "mail"), "EMAIL_TIMEOUT": 10}
    scheme = urlsplit(url).scheme
    with warnings.catch_warnings():  # dj-email-url announces a rename of smtps:// it never made
        warnings.simplefilter("ignore")
        parsed = dj_email_url.parse(url)
    if scheme == "smtps" and "tls=" not in url:  # RFC 8314: smtps is TLS from the first byte, not STARTTLS
        parsed["EMAIL_USE_SSL"], parsed["EMAIL_USE_TLS"] = True, False
    if parsed.get("EMAIL_BACKEND") == "django.core.mail.backends.filebased.EmailBackend":
        parsed["EMAIL_BACKEND"] = FILE_BACKEND  # file:///path: one .eml per message there as well
    parsed["EMAIL_TIMEOUT"] = parsed.get("EMAIL_TIMEOUT") or 10  # a hung server must not hold the sender forever
    return {k: v for k, v in parsed.items() if v not in (None, "") or k == "EMAIL_FILE_PATH"}


def site_url() -> str:
    host = os.environ.get("HOST", "127.0.0.1")
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    default = f"http://{host}:{os.environ.get('PORT', '8000')}"
    return (os.environ.get("SITE_URL") or default).rstrip("/")


def notifier_mode() -> str:
    """NOTIFIER: `embedded` (default: `threadlog serve` runs the notifier and the sender) or `off` (web nodes of a
    set-up whose `threadlog notify --follow` runs as a service of its own)."""
    mode = os.environ.get("NOTIFIER", "embedded").strip().lower()
    return "off" if mode in ("off", "0", "false", "no", "none") else "embedded"
