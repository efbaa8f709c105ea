"""PostgreSQL: one append in one round trip, by a function in the database (`threadlog_append`).

An append took two round trips while it held the global append lock (lock and decide; then insert and commit),
and the rows' hashes were computed in Python between them, so every other writer also waited for this one's
network, its interpreter lock and its share of a core. The function does it all where the rows are: take the
lock, check the idempotency key and the expected version, read the head, stamp `recorded_at` (the database's
clock, under the lock, so it grows with the position), hash each row onto the chain and insert them in one
statement. Outside a transaction it is one statement in its own transaction: one round trip in all.

The hash is the one of docs/audit.md, `chain_hash` in events/store.py: SHA-256 of the UTF-8 text
`[position,"id","type",version,"stream",stream_version,"data","metadata","recorded_at","previous"]`. PostgreSQL's
`to_json(text)` escapes a string exactly as Python's json module does with ensure_ascii=False (`\\"`, `\\\\`,
`\\b \\f \\n \\r \\t`, other characters below U+0020 as lowercase `\\u00xx`, nothing else), and integers print
alike; `threadlog audit verify` recomputes every hash in Python, and tests/events/test_pg_append.py checks both
agree on hostile strings. Needs a UTF-8 database (which Django's PostgreSQL back-end requires anyway).
"""
from __future__ import annotations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION threadlog_append(
    p_lock bigint, p_stream text, p_expected integer, p_ids text[], p_types text[], p_versions integer[],
    p_data text[], p_metadata text[], p_idempotency_key text, p_commit_early boolean
) RETURNS TABLE (o_status integer, o_first bigint, o_version integer, o_recorded_at text, o_hashes text[],
                o_commit_early boolean)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_current integer;
    v_position bigint;
    v_previous text;
    v_first bigint;
    v_last bigint;
    v_at text;
    v_stream text := to_json(p_stream)::text;
    v_n integer := cardinality(p_ids);
    v_hashes text[] := '{}';
    v_early boolean := false;
BEGIN
    IF NOT pg_try_advisory_xact_lock(p_lock) THEN
        -- Another writer holds the lock, so others are likely queueing too: commit without waiting for the disk
        -- and let the caller wait for it after the lock is free (events/early_release.py). Uncontended, the
        -- commit waits for the disk itself, and the caller saves the round trip of that wait.
        PERFORM pg_advisory_xact_lock(p_lock);
        v_early := p_commit_early;
    END IF;
    IF v_early THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    IF p_idempotency_key IS NOT NULL THEN
        SELECT k.first_position, k.last_position INTO v_first, v_last
            FROM threadlog_idempotency k WHERE k.key = p_idempotency_key;
        IF FOUND THEN  -- a retried key: the positions its first call recorded
            RETURN QUERY SELECT 2, v_first, v_last::integer, NULL::text, NULL::text[], v_early;
            RETURN;
        END IF;
    END IF;
    SELECT COALESCE(MAX(e.stream_version), 0) INTO v_current FROM threadlog_events e WHERE e.stream = p_stream;
    IF p_expected IS NOT NULL AND p_expected <> v_current THEN
        RETURN QUERY SELECT 1, NULL::bigint, v_current, NULL::text, NULL::text[], v_early;
        RETURN;
    END IF;
    SELECT e.position, e.hash INTO v_position, v_previous FROM threadlog_events e ORDER BY e.position DESC LIMIT 1;
    IF NOT FOUND THEN
        v_position := 0;
        v_previous := repeat('0', 64);
    END IF;
    v_at := to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    FOR i IN 1 .. v_n LOOP
        v_previous := encode(sha256(convert_to(
            '[' || (v_position + i) || ',' || to_json(p_ids[i])::text || ',' || to_json(p_types[i])::text || ','
            || p_versions[i] || ',' || v_stream || ',' || (v_current + i) || ',' || to_json(p_data[i])::text
            || ',' || to_json(p_metadata[i])::text || ',' || to_json(v_at)::text || ',"' || v_previous || '"]',
            'UTF8')), 'hex');
        v_hashes := v_hashes || v_previous;
    END LOOP;
    INSERT INTO threadlog_events (position, id, stream, stream_version, type, version, data, metadata,
                                  recorded_at, hash)
        SELECT v_position + u.n, u.id::uuid, p_stream, v_current + u.n, u.type, u.version, u.data, u.metadata,
               v_at, u.hash
        FROM unnest(p_ids, p_types, p_versions, p_data, p_metadata, v_hashes)
            WITH ORDINALITY AS u(id, type, version, data, metadata, hash, n);
    IF p_idempotency_key IS NOT NULL THEN
        INSERT INTO threadlog_idempotency (key, stream, first_position, last_position)
            VALUES (p_idempotency_key, p_stream, v_position + 1, v_position + v_n);
    END IF;
    RETURN QUERY SELECT 0, v_position + 1, v_current, v_at, v_hashes, v_early;
END
$fn$
"""

DROP = ("DROP FUNCTION IF EXISTS threadlog_append(bigint, text, integer, text[], text[], integer[], text[], text[],"
        " text, boolean)")

_SELECT = "SELECT o_status, o_first, o_version, o_recorded_at, o_hashes, o_commit_early FROM threadlog_append"
CALL = (_SELECT + "(%s::bigint, %s::text, %s::integer, %s::text[], %s::text[], %s::integer[], %s::text[],"
        " %s::text[], %s::text, %s::boolean)")
# The same call with its arrays sent in binary (`%b`): the text form escapes every element in Python.
# Only with server-side binding (a psycopg.Cursor), not through Django's client-side binding cursor.
CALL_BINARY = (_SELECT + "(%s::bigint, %s::text, %s::integer, %b::text[], %b::text[], %b::integer[], %b::text[],"
               " %b::text[], %s::text, %s::boolean)")

APPENDED, WRONG_VERSION, REPLAYED = 0, 1, 2  # o_status
