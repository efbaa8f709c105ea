"""Sealed fields: today's AES-GCM tokens, the Fernet tokens of earlier versions, and what erasing a key does to both."""
from __future__ import annotations

import json

from cryptography.fernet import Fernet

from events.people import KeyRing, erase_key, seal
from events.sealing import GCM_PREFIX, open_sealed


def test_a_sealed_token_opens_only_with_its_persons_key_and_id(live_db, key):
    alice, bob = f"guest:alice-{key}", f"guest:bob-{key}"
    token = seal(alice, {"name": "Alice", "email": "a@example.org"})
    seal(bob, {"name": "Bob"})  # gives bob a key of his own
    assert token.startswith(GCM_PREFIX) and "Alice" not in token
    ring = KeyRing()
    assert ring.unseal(alice, token) == {"name": "Alice", "email": "a@example.org"}
    assert ring.unseal(bob, token) is None  # another person's key
    assert open_sealed(ring.key(alice), bob, token) is None  # the right key, but claimed for another person
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    assert ring.unseal(alice, tampered) is None
    assert seal(alice, {"name": "Alice"}) != seal(alice, {"name": "Alice"})  # a fresh nonce every time


def test_fernet_tokens_of_earlier_versions_still_open_and_erase_with_the_key(live_db, key):
    person = f"guest:old-{key}"
    seal(person, {"name": "placeholder"})  # creates the person's key
    old = Fernet(KeyRing().key(person).encode()).encrypt(json.dumps({"name": "Olga"}).encode()).decode()
    assert KeyRing().unseal(person, old) == {"name": "Olga"}
    assert erase_key(person)
    assert KeyRing().unseal(person, old) is None



def test_sealing_for_many_people_keeps_a_bounded_number_of_aes_contexts():
    """A rebuild or an import seals and opens for tens of thousands of people; the process keeps the AES contexts
    (about 2.4 KB of OpenSSL memory each) of the last CONTEXTS only, and every token still opens afterwards."""
    from events import sealing

    sealing.forget_cached_keys()
    people = [(f"guest:many-{i}", sealing.new_key()) for i in range(sealing.CONTEXTS + 300)]
    tokens = [sealing.seal_with(k, p, {"name": f"n{i}"}) for i, (p, k) in enumerate(people)]
    assert sealing._context.cache_info().currsize == sealing.CONTEXTS
    assert [sealing.open_sealed(k, p, t) for (p, k), t in zip(people, tokens)] == \
        [{"name": f"n{i}"} for i in range(len(people))]
    assert sealing._context.cache_info().currsize <= sealing.CONTEXTS
    sealing.forget_cached_keys()  # an erasure: nothing derived from a key lingers in this process
    assert sealing._context.cache_info().currsize == 0 and sealing._derived.cache_info().currsize == 0
