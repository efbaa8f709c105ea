"""Settings, all from the environment so one build runs embedded (SQLite, in-memory layer) or in production.

DATABASE_URL  sqlite:///path (default: var/threadlog.sqlite3 in the checkout) or postgres://…
REDIS_URL     unset: in-memory channel layer (one process); set: channels_redis pub/sub layer
RATE_LIMITS   on (default) or off
"""
from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # the checkout
VAR_DIR = Path(os.environ.get("THREADLOG_VAR", BASE_DIR / "var"))



def _secret_key() -> str:
    """SECRET_KEY from the environment, else one made for this checkout on first start (var/secret_key).

    Never a fixed default: it signs the guest cookies that say who may edit a comment. Several nodes must
    share one: set SECRET_KEY (or share var/)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        draft = VAR_DIR / f".secret_key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
        try:
            os.link(draft, path)  # atomic, and fails if another process was first: then theirs is the key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",") if h]
# Origins (scheme://host[:port]) allowed to embed the widget and write through the API.
EMBED_ORIGINS = [o for o in os.environ.get("EMBED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "events",
    "projections",
    "threadlog",
    "threadlog.notifications",
    "threadlog.security",
]

# First in both chains (docs/security.md): metrics see every answer; forwarded headers are believed from
# TRUSTED_PROXIES only; the Host header is checked on every path; HEAD runs the GET view.
EDGE_MIDDLEWARE = [
    "threadlog.ops.middleware.RequestMetricsMiddleware",
    "threadlog.security.proxies.ProxyHeadersMiddleware",
    "threadlog.security.middleware.HostValidationMiddleware",
    "threadlog.security.middleware.HeadAsGetMiddleware",
]
MIDDLEWARE = [
    *EDGE_MIDDLEWARE,
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "threadlog.security.signin.AdminLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "threadlog.security.csp.PolicyMiddleware",
    "threadlog.api.cors.EmbedCorsMiddleware",
]
# The JSON API's own chain (threadlog.asgi): none of the page middleware runs on /api/. Its views are
# csrf-exempt (django-ninja) and the Origin guard in EmbedCorsMiddleware stands in for CSRF; there are no
# messages, no trailing-slash redirects and nothing to frame. Sessions and auth stay (staff calls).
# EmbedCorsMiddleware sets Content-Length there, as CommonMiddleware does for pages.
API_MIDDLEWARE = [
    *EDGE_MIDDLEWARE,
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "threadlog.api.cors.EmbedCorsMiddleware",
]
API_PREFIX = "/api/"

ROOT_URLCONF = "threadlog.urls"
ASGI_APPLICATION = "threadlog.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'threadlog.sqlite3'}"
    # Persistent connections: the ASGI app (asgi.py) runs all sync code on one shared thread, so a process
    # keeps one connection. (With Django's stock per-request threads a kept connection would stay open on
    # each finished thread: 8 concurrent clients once leaked 80+ PostgreSQL connections.)
    db = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "600")))
    if db["ENGINE"] == "django.db.backends.sqlite3":
        Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE: a write transaction takes SQLite's write lock at BEGIN, which serialises appends
        # (positions are handed out in commit order) and avoids deadlocking lock upgrades.
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;",
        }
        if os.environ.get("THREADLOG_SERVER"):  # a checkpointer thread keeps the WAL short (server_tuning.py)
            db["OPTIONS"]["init_command"] += " PRAGMA wal_autocheckpoint=10000;"
        db["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    db.setdefault("OPTIONS", {})
    db["CONN_HEALTH_CHECKS"] = True
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS: list = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "frontend" / "static"]
STATIC_ROOT = VAR_DIR / "static"

SESSION_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = EMBED_ORIGINS

LOGIN_URL = "/admin/login/"

def _rate(name: str, default: str) -> tuple[int, int]:
    count, _, seconds = os.environ.get(name, default).partition("/")
    return int(count), int(seconds or 60)


# --- threadlog behaviour -------------------------------------------------------------------------
THREADLOG = {
    "EDIT_WINDOW_SECONDS": int(os.environ.get("EDIT_WINDOW_SECONDS", "900")),
    "RATE_LIMITS": os.environ.get("RATE_LIMITS", "on").lower() not in ("off", "0", "false", "no"),
    # (events, seconds): per guest/user, and per IP (much higher: many readers share one NAT).
    "RATE_POST": _rate("RATE_POST", "120/60"),  # "N/S": N per S seconds
    "RATE_VOTE": _rate("RATE_VOTE", "1200/60"),
    "RATE_IP_FACTOR": 20,
    "MAX_REQUEST_BYTES": 64 * 1024,
    "MAX_BODY_CHARS": 10_000,
    # Replies nest at most this deep (the page shows 3 levels and folds the rest); a cap keeps every tree
    # renderable and a long reply chain from becoming a denial of service.
    "MAX_REPLY_DEPTH": int(os.environ.get("MAX_REPLY_DEPTH", "32")),
    # A resume asking for more than this many events gets a reset frame: refetch the page instead.
    "RESUME_MAX_EVENTS": int(os.environ.get("RESUME_MAX_EVENTS", "1000")),
    "WS_QUEUE_FRAMES": int(os.environ.get("WS_QUEUE_FRAMES", "1000")),
    "WS_MAX_FRAME_BYTES": 4096,
    "PUBLISHER_POLL_SECONDS": float(os.environ.get("PUBLISHER_POLL_SECONDS", "1.0")),
    "ERASED_BODIES": os.environ.get("ERASED_BODIES", "kept"),
    # Where requests run (threadlog.serving, docs/architecture.md "HTTP requests"): threads for quick reads
    # per process; processes for expensive reads (time travel, audit pages) per server process, 0: on the
    # request thread; how many requests of each expensive kind may run or wait at once before a 503.
    "READ_THREADS": int(os.environ.get("READ_THREADS", "4")),
    # Write threads per process: 1 on SQLite (one writer at a time, queued in order); on PostgreSQL several, so
    # that one waits for the disk or the network while another holds the append lock (events/early_release.py).
    "WRITE_THREADS": int(os.environ.get("WRITE_THREADS") or (4 if DATABASES["default"]["ENGINE"].endswith("postgresql") else 1)),
    "HISTORY_PROCESSES": int(os.environ.get("HISTORY_PROCESSES", "1")),
    # Markdown bodies of writes rendered in a helper process, off the interpreter lock (serving.markdown_process):
    # off by default until a quiet machine shows it pays (docs/benchmarks.md, "The loop's stalls").
    "MARKDOWN_PROCESS": os.environ.get("MARKDOWN_PROCESS", "off").strip().lower() == "on",
    "EXPENSIVE_QUEUE": int(os.environ.get("EXPENSIVE_QUEUE", "4")),
    # A file the server rewrites each second with the event loop's worst stall (threadlog.serving.loopwatch).
    "LOOP_WATCH_FILE": os.environ.get("LOOP_WATCH_FILE", ""),
    # Moderation (docs/moderation.md): off | first | all; links and words that hold a comment anyway.
    "MODERATION": os.environ.get("MODERATION", "off").strip().lower(),
    "MODERATION_MAX_LINKS": int(os.environ.get("MODERATION_MAX_LINKS", "2")),
    "MODERATION_WORDS": [w.strip().lower() for w in os.environ.get("MODERATION_WORDS", "").split(",") if w.strip()],
    "REPORTS_TO_HOLD": int(os.environ.get("REPORTS_TO_HOLD", "3")),
    "MAX_PINNED": int(os.environ.get("MAX_PINNED", "3")),
    "DUPLICATE_SECONDS": int(os.environ.get("DUPLICATE_SECONDS", "600")),  # same body twice: 409; 0 turns off
    "RATE_REPORT": (int(os.environ.get("RATE_REPORT", "20")), 60),  # reports per reader per minute
}
DATA_UPLOAD_MAX_MEMORY_SIZE = THREADLOG["MAX_REQUEST_BYTES"]

# LOG_FORMAT=json: one JSON object per line (threadlog.ops.logs), each request on the threadlog.access logger.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "threadlog.ops.logs.JsonFormatter"}},
    # A Redis outage is one warning, not channels_redis's traceback every second (threadlog.ops.dependency).
    "filters": {"redis_outage": {"()": "threadlog.ops.dependency.RedisOutageFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             **({"formatter": "json"} if os.environ.get("LOG_FORMAT", "text") == "json" else {})}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "channels_redis.pubsub": {"filters": ["redis_outage"]},
        **({"threadlog.access": {"level": "INFO"}} if (
            os.environ.get("LOG_FORMAT", "text") == "json" and os.environ.get("ACCESS_LOG", "1") != "0") else {}),
    },
}

# --- security and operations (docs/security.md, docs/deploy.md) ----------------------------------
# Networks (CIDRs) whose X-Forwarded-For/-Proto/-Host are believed (threadlog.security.proxies); from anyone
# else those headers are dropped, so SECURE_PROXY_SSL_HEADER and USE_X_FORWARDED_HOST are safe to switch on.
TRUSTED_PROXIES = tuple(ipaddress.ip_network(p.strip(), strict=False)
                        for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip())
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = bool(TRUSTED_PROXIES)
SITE_URL = os.environ.get("SITE_URL", "")
HTTPS = SITE_URL.lower().startswith("https://")
# With SITE_URL on https: cookies only over TLS, HSTS, and plain-HTTP requests redirected (not the probes).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and os.environ.get("SSL_REDIRECT", "1") != "0"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and os.environ.get("HSTS_INCLUDE_SUBDOMAINS", "1") != "0"
SECURE_HSTS_PRELOAD = os.environ.get("HSTS_PRELOAD", "0") == "1"

# Content-Security-Policy (django-csp; threadlog.security.csp adds the site's ws:// or wss:// origin).
# CSP=report-only sends it as Content-Security-Policy-Report-Only, CSP=off not at all.
_CSP = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "report-uri": "/csp-report",
    },
}
_CSP_MODE = os.environ.get("CSP", "on").lower()
CONTENT_SECURITY_POLICY = _CSP if _CSP_MODE in ("on", "1", "true", "yes") else None
CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP if _CSP_MODE == "report-only" else None
X_FRAME_OPTIONS = "DENY"  # nothing of ours is framed: the widget renders in a Shadow DOM, not an iframe

THREADLOG_SECURITY = {
    "SIGNIN_THROTTLE": os.environ.get("SIGNIN_THROTTLE", "on").lower() not in ("off", "0", "false", "no"),
    "SIGNIN_MAX_FAILURES": int(os.environ.get("SIGNIN_MAX_FAILURES", "5")),  # per account from one IP (and device)
    "SIGNIN_IP_MAX_FAILURES": int(os.environ.get("SIGNIN_IP_MAX_FAILURES", "20")),  # per IP, any accounts
    # per account from anywhere; reaching it locks out only clients without the account's device cookie
    "SIGNIN_ACCOUNT_MAX_FAILURES": int(os.environ.get("SIGNIN_ACCOUNT_MAX_FAILURES", "100")),
    "SIGNIN_WINDOW_SECONDS": int(os.environ.get("SIGNIN_WINDOW_SECONDS", "900")),
    "SIGNIN_LOCKOUT_SECONDS": int(os.environ.get("SIGNIN_LOCKOUT_SECONDS", "900")),
}
THREADLOG_OPS = {
    "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),  # unset: /metrics for staff sessions only
    "READY_MAX_LAG": int(os.environ.get("READY_MAX_LAG", "1000")),  # /readyz: 503 past this many events behind
}

# --- e-mail and notifications (threadlog/notifications, docs/notifications.md) ----------------------------
from threadlog.notifications.config import email_settings, notifier_mode, site_url  # noqa: E402

globals().update(email_settings(VAR_DIR))  # EMAIL_BACKEND, EMAIL_HOST, … from EMAIL_URL (unset: var/mail/)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "threadlog <threadlog@localhost>")
# The base of links in e-mails: SITE_URL (above), or where `threadlog serve` listens (http://HOST:PORT).
SITE_LINK_URL = site_url()
NOTIFY = {
    # 0: one message per comment at once; N: at most one message per subscriber per N seconds, listing all new.
    "DIGEST_SECONDS": int(os.environ.get("NOTIFY_DIGEST_SECONDS", "0")),
    "MODE": notifier_mode(),  # NOTIFIER=off: this server does not decide or send (a `threadlog notify` does)
    "MAX_ATTEMPTS": int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "8")),  # then a message is given up, visibly
    "RETRY_SECONDS": float(os.environ.get("NOTIFY_RETRY_SECONDS", "30")),  # first back-off, doubled per failure
    "POLL_SECONDS": float(os.environ.get("NOTIFY_POLL_SECONDS", "0.5")),
    "SMTP_CONNECTIONS": max(1, int(os.environ.get("NOTIFY_SMTP_CONNECTIONS", "4"))),  # senders at once
    "CONFIRM_DAYS": 7,
    "RESEND_SECONDS": 600,  # a confirmation goes to one address at most once per 10 minutes
    "SIGNIN_SECONDS": 900,
}
