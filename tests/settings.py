"""Test settings: the app's settings plus a `postgres` alias, with databases named per test run.

Every pytest process gets its own SQLite file and PostgreSQL database, so suites may run side by side.
"""
import os

import dj_database_url

from threadlog.settings import *  # noqa: F401,F403
from threadlog.settings import DATABASES, THREADLOG, VAR_DIR

RUN_ID = os.getpid()
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{RUN_ID}.sqlite3")} if (
    DATABASES["default"]["ENGINE"].endswith("sqlite3")) else {"NAME": f"test_threadlog_{RUN_ID}"}
DATABASES["postgres"] = dj_database_url.parse(POSTGRES_URL, conn_max_age=0)
DATABASES["postgres"]["TEST"] = {"NAME": f"test_threadlog_pg_{RUN_ID}"}

THREADLOG["RATE_LIMITS"] = False
THREADLOG["PUBLISHER_POLL_SECONDS"] = 0.2
# Tests post "hello" many times as one writer; the duplicate rule's own tests turn it on (tests/moderation).
THREADLOG["DUPLICATE_SECONDS"] = 0
