"""Addresses and signed links.

An address is known to the read model only as a keyed hash (HMAC with SECRET_KEY), so lookups ("has this address
confirmed before?", "replies to comments posted with this address") work without storing it in plain text. Links
in messages carry a signed id (django.core.signing): unforgeable, and the confirmation and sign-in links expire.
"""
from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core import signing

CONFIRM_SALT = "threadlog.notifications.confirm"
UNSUBSCRIBE_SALT = "threadlog.notifications.unsubscribe"
SIGNIN_SALT = "threadlog.notifications.signin"


class BadToken(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def normalize(email: str) -> str:
    return email.strip().lower()


def address_of(email: str) -> str:
    key = hashlib.sha256(f"threadlog.address:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, normalize(email).encode(), hashlib.sha256).hexdigest()[:40]


def reader_of(email: str) -> str:
    """The account of whoever proves they read `email` (sign-in by e-mail): the same on every device."""
    return f"reader:{address_of(email)[:24]}"


def _make(value: str, salt: str) -> str:
    return signing.dumps(value, salt=salt, compress=False)


def _open(token: str, salt: str, max_age: float | None, what: str) -> str:
    try:
        value = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired:
        raise BadToken("link_expired", f"this {what} link has expired; ask for a new one") from None
    except signing.BadSignature:
        raise BadToken("invalid_link", f"this {what} link is not valid (it may have been cut short)") from None
    if not isinstance(value, str):
        raise BadToken("invalid_link", f"this {what} link is not valid")
    return value


def confirm_token(subscription_id: str) -> str:
    return _make(subscription_id, CONFIRM_SALT)


def open_confirm(token: str) -> str:
    return _open(token, CONFIRM_SALT, settings.NOTIFY["CONFIRM_DAYS"] * 86400, "confirmation")


def unsubscribe_token(subscription_id: str) -> str:
    return _make(subscription_id, UNSUBSCRIBE_SALT)


def open_unsubscribe(token: str) -> str:
    return _open(token, UNSUBSCRIBE_SALT, None, "unsubscribe")


def signin_token(nonce: str) -> str:
    return _make(nonce, SIGNIN_SALT)


def open_signin(token: str) -> str:
    return _open(token, SIGNIN_SALT, settings.NOTIFY["SIGNIN_SECONDS"], "sign-in")


def link(path: str) -> str:
    return settings.SITE_LINK_URL + path
