"""The cryptography of sealed personal fields, without Django: usable by a plain child process (a rebuild's worker).

A person's key (a Fernet key: 32 random bytes, URL-safe base64) lives in threadlog_person_key; deleting it makes
every field sealed with it unreadable (events.people, docs/audit.md).

Two token formats, both opened with the same key:
- "s2." + base64(nonce, ciphertext): AES-256-GCM, with a key derived from the person's key by HKDF and the person
  as associated data (a token copied into another person's event does not open). Written since 2026-11-29: about
  three times cheaper to open than Fernet, which matters to a rebuild that opens one per comment.
- Fernet (AES-128-CBC + HMAC-SHA256), as written before: still read, never written.
"""
from __future__ import annotations

import base64
import json
import os
from functools import lru_cache
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ERASED = "[erased]"  # what a sealed field reads as once its key is gone (or when it does not open)
GCM_PREFIX = "s2."
_HKDF_INFO = b"threadlog sealed fields v2: AES-256-GCM"
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(.., separators=(",", ":")), one encoder


def new_key() -> str:
    return Fernet.generate_key().decode()


def derived_key(key: str) -> bytes:
    """The AES-256-GCM key derived from a person's key (HKDF), as every "s2." token of theirs is sealed with."""
    raw = base64.urlsafe_b64decode(key)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(raw)


# Two bounded caches, because a process meets many people (a rebuild opens the names of every author in turn, in no
# particular order; an import seals tens of thousands; a server runs for months): the derived keys (HKDF, 6 µs each;
# about 200 bytes each cached) of many people, and the AES contexts (1.4 µs to make, but about 2.4 KB of OpenSSL
# memory each) of the last 8,192 only (at most ~20 MiB). One cache of 65,536 contexts grew a process by up to 150 MiB.
DERIVED_KEYS = 65_536
CONTEXTS = 8_192


@lru_cache(maxsize=DERIVED_KEYS)
def _derived(key: str) -> bytes:
    return derived_key(key)


@lru_cache(maxsize=CONTEXTS)
def _context(derived: bytes) -> AESGCM:
    return AESGCM(derived)


def _aead(key: str) -> AESGCM:
    return _context(_derived(key))


@lru_cache(maxsize=1024)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def forget_cached_keys() -> None:
    """Drop the keys derived and cached in this process (after an erasure, nothing of the key should linger)."""
    _derived.cache_clear()
    _context.cache_clear()
    _fernet.cache_clear()


def seal_with(key: str, person: str, fields: dict[str, Any]) -> str:
    """`fields` as JSON, encrypted under the person's key, bound to the person."""
    nonce = os.urandom(12)
    sealed = _aead(key).encrypt(nonce, _COMPACT(fields).encode(), person.encode())
    return GCM_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_sealed(key: str, person: str, token: str) -> dict[str, Any] | None:
    """The sealed fields, or None if the token does not open with this key (tampered, or not this person's)."""
    try:
        if token.startswith(GCM_PREFIX):
            raw = base64.urlsafe_b64decode(token[len(GCM_PREFIX):])
            plain = _aead(key).decrypt(raw[:12], raw[12:], person.encode())
        else:
            plain = _fernet(key).decrypt(token.encode())
        fields = _loads(plain)
    except (InvalidTag, InvalidToken, ValueError, TypeError):
        return None
    return fields if isinstance(fields, dict) else None


def _loads(plain: bytes) -> Any:
    """The sealed JSON read by orjson (a rebuild opens one per comment); what orjson refuses (a lone surrogate,
    which the encoder writes as an escape) by json.loads, as before."""
    try:
        return orjson.loads(plain)
    except orjson.JSONDecodeError:
        return json.loads(plain)


def sealed_name(key: str | None, person: str, token: str) -> str:
    """The author name a sealed {"name", "email"} shows: the name, or ERASED when it cannot be opened."""
    fields = open_sealed(key, person, token) if key else None
    return ERASED if fields is None else str(fields.get("name", ""))
