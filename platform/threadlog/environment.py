"""Every setting threadlog reads from the environment, with its default, for `threadlog --help` (README's
configuration table says more about each). A test checks that every variable the code reads is listed here."""
from __future__ import annotations

# (variable, default, what it does), in the order an operator meets them
SETTINGS: list[tuple[str, str, str]] = [
    ("DATABASE_URL", "sqlite:///<checkout>/var/threadlog.sqlite3", "or postgres://user@host:5432/db"),
    ("REDIS_URL", "unset: in-memory layer, one process", "redis://host:6379/0 for several processes or nodes"),
    ("HOST, PORT", "127.0.0.1, 8000", "where `serve` listens"),
    ("WORKERS", "1", "daphne processes sharing the port (REDIS_URL with more than one)"),
    ("READ_THREADS", "4", "threads per process answering reads"),
    ("WRITE_THREADS", "1 on SQLite, 4 on PostgreSQL", "threads per process running writes"),
    ("HISTORY_PROCESSES", "1", "processes per server computing time travel"),
    ("EXPENSIVE_QUEUE", "4", "time travels/audit pages run or queued per process; past it 503"),
    ("MARKDOWN_PROCESS", "off", "on: render writes' Markdown in a helper process"),
    ("ACCESS_LOG", "1", "0: no line per request"),
    ("LOG_FORMAT", "text", "json: one JSON object per line"),
    ("LOG_LEVEL", "WARNING", "the root logger's level"),
    ("NODE_NAME", "the host name", "this node's name in metrics and presence"),
    ("CONN_MAX_AGE", "600", "seconds a database connection is kept"),
    ("THREADLOG_VAR", "<checkout>/var", "where the SQLite file, secret key and mail files live"),
    ("SECRET_KEY", "made on first start (var/secret_key)", "share one across nodes"),
    ("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver", "Django's host check"),
    ("SITE_URL", "empty: http://HOST:PORT", "the public address (links, secure cookies, HSTS)"),
    ("EMBED_ORIGINS", "empty", "origins allowed to embed the widget and write"),
    ("TRUSTED_PROXIES", "empty", "CIDRs whose X-Forwarded-* headers are believed"),
    ("SSL_REDIRECT, HSTS_SECONDS", "1, 31536000 (with an https SITE_URL)", "HTTPS redirect and HSTS"),
    ("HSTS_INCLUDE_SUBDOMAINS, HSTS_PRELOAD", "1, 0", "HSTS flags"),
    ("CSP", "on", "report-only or off"),
    ("DEBUG", "0", "1: Django's debug pages (never in production)"),
    ("RATE_LIMITS", "on", "off for load tests"),
    ("RATE_POST, RATE_VOTE, RATE_REPORT", "120/60, 1200/60, 20", "per writer (posts and votes: N/seconds)"),
    ("SIGNIN_THROTTLE", "on", "failed sign-ins locked out (SIGNIN_MAX_FAILURES 5 per account from one IP, "
                              "SIGNIN_IP_MAX_FAILURES 20 per IP, SIGNIN_WINDOW_SECONDS 900, "
                              "SIGNIN_LOCKOUT_SECONDS 900)"),
    ("SIGNIN_ACCOUNT_MAX_FAILURES", "100", "failed sign-ins to one account from anywhere that lock it, except for "
                                           "devices that signed in to it before"),
    ("EDIT_WINDOW_SECONDS", "900", "how long authors may edit or delete"),
    ("MAX_REPLY_DEPTH", "32", "how deep replies nest"),
    ("RESUME_MAX_EVENTS", "1000", "a longer WebSocket resume gets `reset`"),
    ("WS_QUEUE_FRAMES", "1000", "frames queued for a slow reader before it is closed"),
    ("PUBLISHER_POLL_SECONDS", "1.0", "how often a node looks at the log without a doorbell"),
    ("READY_MAX_LAG", "1000", "/readyz fails past this many events behind"),
    ("METRICS_TOKEN", "unset: staff only", "Bearer token for /metrics"),
    ("MODERATION", "off", "first or all: comments wait for a moderator"),
    ("MODERATION_MAX_LINKS", "2", "more links than this: held"),
    ("MODERATION_WORDS", "empty", "comma-separated words that hold a comment"),
    ("REPORTS_TO_HOLD", "3", "readers' reports that hold a published comment"),
    ("MAX_PINNED", "3", "pinned comments per thread"),
    ("DUPLICATE_SECONDS", "600", "the same body twice within this: 409 duplicate_comment"),
    ("EMAIL_URL", "unset: .eml files in var/mail/", "smtp://user:pass@host:587 (smtps:// for TLS)"),
    ("DEFAULT_FROM_EMAIL", "threadlog <threadlog@localhost>", "the From: of every message"),
    ("NOTIFIER", "embedded", "off: run `threadlog notify --follow` apart"),
    ("NOTIFY_DIGEST_SECONDS", "0", "N: at most one e-mail per subscription per N seconds"),
    ("NOTIFY_POLL_SECONDS", "0.5", "how often the notifier looks at the log"),
    ("NOTIFY_RETRY_SECONDS, NOTIFY_MAX_ATTEMPTS", "30, 8", "a failed send's first back-off, and attempts"),
    ("NOTIFY_SMTP_CONNECTIONS", "4", "messages sent at once"),
    ("ERASED_BODIES", "kept", "hidden: erase-person also hides the bodies"),
    ("IMPORT_SQLITE_CACHE_MIB", "64", "SQLite page cache during import-comments"),
    ("PROGRESS", "on a terminal", "1: progress bars even without one"),
    ("LOOP_WATCH_FILE", "empty", "a file the event loop's worst stall is written to (benchmarks)"),
]


def help_text() -> str:
    """The settings as `threadlog --help` shows them after the commands."""
    width = max(len(name) for name, _, _ in SETTINGS)
    lines = ["settings (environment variables; README.md's Configuration says more):"]
    lines += [f"  {name:<{width}}  {meaning} [default: {default}]" for name, default, meaning in SETTINGS]
    return "\n".join(lines)
