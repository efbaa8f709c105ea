"""Reader accounts made by signing in with an e-mail address: who is signed in (the Django session), and which
identities are one person (a reader and the guests linked to it by GuestLinked)."""
from __future__ import annotations

from django.http import HttpRequest

SESSION_READER = "threadlog.reader"
SESSION_EMAIL = "threadlog.email"


def signed_in(request: HttpRequest) -> tuple[str, str] | None:
    """(reader id, e-mail) of the reader signed in on this browser, or None."""
    session = getattr(request, "session", None)
    if session is None:
        return None
    reader = session.get(SESSION_READER)
    return (reader, session.get(SESSION_EMAIL, "")) if reader else None


def session_reader(request: HttpRequest) -> str | None:
    found = signed_in(request)
    return found[0] if found else None


def identities(actor_id: str) -> list[str]:
    """The actor and the identities linked to it: a reader's guests, or a guest's reader (and its guests)."""
    from .models import IdentityLink

    found = {actor_id}
    found.update(IdentityLink.objects.filter(guest=actor_id).values_list("reader", flat=True))
    found.update(IdentityLink.objects.filter(reader__in=found).values_list("guest", flat=True))
    return sorted(found)


def owns(actor_id: str, author_id: str) -> bool:
    """Whether `actor_id` may act as the author `author_id` (the same, or linked by a sign-in)."""
    return actor_id == author_id or (actor_id.startswith("reader:") and author_id in identities(actor_id))
