"""Per-client and per-IP rate limits: in this process's memory (sliding windows, a limit per node) or, with
REDIS_URL, in Redis (fixed windows shared by every node). The windows live in threadlog.security.windows."""
from __future__ import annotations

from django.conf import settings

from threadlog.ops import metrics
from threadlog.security.windows import RateLimited, windows

__all__ = ["RateLimited", "check"]


def check(kind: str, client: str, ip: str) -> None:
    """Raise RateLimited when `client` (or its IP, with a much higher limit) acts too often."""
    conf = settings.THREADLOG
    if not conf["RATE_LIMITS"]:
        return
    limit, seconds = (conf["RATE_POST"] if kind == "post" else conf["RATE_REPORT"] if kind == "report"
                     else conf["RATE_VOTE"])
    counter = windows()
    try:
        counter.hit(f"{kind}:c:{client}", limit, seconds)
        counter.hit(f"{kind}:ip:{ip}", limit * conf["RATE_IP_FACTOR"], seconds)
    except RateLimited:
        metrics.rate_limited(kind)
        raise
