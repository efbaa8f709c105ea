"""Template filters of the audit pages: the log's ISO times as a person reads them."""
from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def when(iso: str, seconds: bool = False) -> str:
    """'2026-03-03T14:05:09.123456Z' -> '14:05 on 3 March 2026' (UTC, as recorded)."""
    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    clock = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{clock} on {moment.day} {moment.strftime('%B %Y')}"


@register.filter
def stamp(iso: str) -> str:
    """'2026-03-03T14:05:09.123456Z' -> '2026-03-03 14:05:09' (for tables)."""
    return str(iso)[:19].replace("T", " ")
