"""Personal data in events, sealed with a per-person key kept outside the log (docs/audit.md, erasure).

`seal` encrypts a person's fields (name, email, IP hash) with that person's key (AES-256-GCM; tokens of earlier
versions are Fernet, still read: events.sealing) before they enter an event; the ciphertext is what the log
stores and hashes. `erase` deletes the key:
the log and its hash chain stay exactly as they were, and the sealed fields can never be read again, so every
projection, rebuild and readable export shows ERASED instead.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

from django.db import connections

from .models import PersonKey
from .sealing import ERASED, forget_cached_keys, new_key, open_sealed, seal_with, sealed_name
from .sql import execute, fetch_one


def seal(person: str, fields: dict[str, Any], *, using: str = "default", key: str | None = None) -> str:
    """Encrypt `fields` with the person's key (`key`, if the caller has it from `person_key`)."""
    return seal_with(key or person_key(person, using=using), person, fields)


def person_key(person: str, *, using: str = "default") -> str:
    """The person's key, created on first use (and anew for a person erased before: their old data stays
    unreadable)."""
    row = fetch_one(using, "SELECT key FROM threadlog_person_key WHERE person = %s", [person])
    key = row[0] if row else None
    if key is None:
        key = new_key()
        if row is None:  # a first post by a new guest: plain SQL, the ORM's save cost more than the insert
            now = connections[using].ops.adapt_datetimefield_value(datetime.now(timezone.utc))
            execute(using, "INSERT INTO threadlog_person_key (person, key, created_at, bodies) VALUES (%s, %s, %s, %s)",
                    [person, key, now, "kept"])
        else:
            PersonKey.objects.using(using).filter(pk=person).update(key=key, erased_at=None)
    return key


class KeyRing:
    """Reads sealed fields. Keys are looked up once per ring; a ring lives for one projection pass."""

    def __init__(self, using: str = "default", preload: bool = False):
        self.using = using
        # person -> (their key, or None; their bodies' fate; erased: a row whose key was destroyed)
        self._keys: dict[str, tuple[str | None, str, bool]] = {}
        self._complete = preload
        self._erased: set[str] = set()  # with preload: every erased person (most logs have none)
        self._names: dict[str, str] = {}  # remember_names
        if preload:
            for person, key, bodies in PersonKey.objects.using(using).values_list("person", "key", "bodies"):
                self._keys[person] = self._make(key, bodies)
                if key is None:
                    self._erased.add(person)

    @staticmethod
    def _make(key: str | None, bodies: str) -> tuple[str | None, str, bool]:
        return (key or None, bodies, key is None)

    def _entry(self, person: str) -> tuple[str | None, str, bool]:
        if person not in self._keys:
            if self._complete:
                return (None, "kept", False)
            row = fetch_one(self.using, "SELECT key, bodies FROM threadlog_person_key WHERE person = %s", [person])
            self._keys[person] = self._make(row[0], row[1]) if row else (None, "kept", False)
        return self._keys[person]

    def remember(self, person: str, key: str) -> None:
        """A live key the caller just read or made (person_key), in this transaction: no second look-up."""
        self._keys[person] = self._make(key, "kept")

    def remember_names(self, names: dict[str, str]) -> None:
        """Sealed author tokens and the names they seal, as the caller sealed them in this transaction with live
        keys (an import): `name` need not open them again."""
        self._names.update(names)

    def name(self, person: str, token: str) -> str:
        """The author name a sealed {"name", "email"} token shows (events.sealing.sealed_name)."""
        known = self._names.get(token)
        return known if known is not None else sealed_name(self.key(person), person, token)

    def key(self, person: str) -> str | None:
        """The person's key (None: erased, or never had one); a rebuild hands it to its worker process."""
        return self._entry(person)[0]

    def erased(self, person: str) -> bool:
        """Whether the person was erased (also covers plain-text fields of v1 events, which had no key)."""
        if self._complete:  # asked once per comment by a rebuild
            return person in self._erased
        return self._entry(person)[2]

    def bodies_hidden(self, person: str) -> bool:
        """Whether an erased person's comment bodies are to be hidden (decided when they were erased)."""
        if self._complete and person not in self._erased:
            return False
        _, bodies, erased = self._entry(person)
        return erased and bodies == "hidden"

    def unseal(self, person: str, token: str | None) -> dict[str, Any] | None:
        """The sealed fields, or None when the person's key is gone (erased)."""
        if not token:
            return None
        key = self.key(person)
        return None if key is None else open_sealed(key, person, token)


def erase_key(person: str, *, bodies: str = "kept", using: str = "default") -> bool:
    """Destroy the person's key (and record their bodies' fate). Returns False if there was no key to destroy."""
    now = datetime.now(timezone.utc)
    updated = PersonKey.objects.using(using).filter(pk=person, key__isnull=False).update(
        key=None, erased_at=now, bodies=bodies)
    if not updated:
        PersonKey.objects.using(using).update_or_create(
            person=person, defaults={"key": None, "erased_at": now, "bodies": bodies})
    forget_cached_keys()  # this process's derived keys; other processes hold theirs until they restart
    return bool(updated)


def is_erased(person: str, *, using: str = "default") -> bool:
    return PersonKey.objects.using(using).filter(pk=person, key__isnull=True).exists()


def reveal(event: dict[str, Any], keys: KeyRing) -> dict[str, Any]:
    """An event (as_dict) with its sealed fields opened for staff: the plain values, or ERASED."""
    out = dict(event)
    data, meta = dict(out.get("data") or {}), dict(out.get("metadata") or {})
    if data.get("sealed_author"):
        fields = keys.unseal(data.get("author_id", ""), data["sealed_author"])
        data["author_name"] = ERASED if fields is None else fields.get("name")
        data["author_email"] = ERASED if fields is None else fields.get("email")
        del data["sealed_author"]
    if data.get("sealed_email"):  # a subscriber's address (events.subscriptions), sealed with the asker's key
        fields = keys.unseal(str(data.get("person", "")), data["sealed_email"])
        data["email"] = ERASED if fields is None else fields.get("email")
        del data["sealed_email"]
    forget_erased(data, keys)
    if meta.get("sealed"):
        fields = keys.unseal(str(meta.get("actor", "")), meta["sealed"])
        meta["ip_hash"] = ERASED if fields is None else fields.get("ip_hash")
        del meta["sealed"]
    out["data"], out["metadata"] = data, meta
    return out


def forget_erased(data: dict[str, Any], keys: KeyRing) -> dict[str, Any]:
    """In place: an erased person's plain-text fields (v1 names, hidden bodies) become ERASED."""
    writer = str(data.get("author_id") or data.get("editor_id") or "")
    if writer and keys.erased(writer):
        for name in ("author_name", "author_email"):
            if data.get(name):
                data[name] = ERASED
        if "body" in data and keys.bodies_hidden(writer):
            data["body"] = ERASED
    return data


def export_keys(*, using: str = "default") -> dict[str, dict]:
    return {p: {"key": k, "bodies": b} for p, k, b in PersonKey.objects.using(using).values_list("person", "key", "bodies")}


def import_keys(keys: dict[str, dict], *, using: str = "default") -> int:
    now = datetime.now(timezone.utc)
    rows = [PersonKey(person=p, key=v["key"], bodies=v.get("bodies", "kept"), erased_at=None if v["key"] else now)
            for p, v in keys.items()]
    PersonKey.objects.using(using).bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def person_keys(people: Iterable[str], *, using: str = "default") -> dict[str, str]:
    """Many people's keys at once, each created if missing (as person_key does for one): a query per 500 people
    and one batch of inserts instead of a query or two per person (an import seals thousands of authors)."""
    wanted = list(dict.fromkeys(people))
    found: dict[str, str | None] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        with connections[using].cursor() as cur:
            cur.execute(f"SELECT person, key FROM threadlog_person_key WHERE person IN ({', '.join(['%s'] * len(chunk))})",
                        chunk)
            found.update(cur.fetchall())
    keys = {p: k for p, k in found.items() if k}
    for person in wanted:
        if person in found and found[person] is None:  # erased before: a new key, their old data stays unreadable
            keys[person] = person_key(person, using=using)
    new = [p for p in wanted if p not in found]
    if new:
        now = connections[using].ops.adapt_datetimefield_value(datetime.now(timezone.utc))
        rows = [(p, new_key(), now, "kept") for p in new]
        with connections[using].cursor() as cur:
            cur.executemany("INSERT INTO threadlog_person_key (person, key, created_at, bodies) VALUES (%s, %s, %s, %s)",
                            rows)
        keys.update((p, k) for p, k, _, _ in rows)
    return keys
