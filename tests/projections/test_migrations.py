"""Migration projections.0011 (narrower comment indexes): an existing read model upgrades — its rows get their
duplicate keys, the old indexes go under either of their names (an online rebuild leaves `<name>__r` on SQLite)."""
from __future__ import annotations

import pytest
from django.db import connections
from django.db.migrations.executor import MigrationExecutor

from projections.duplicates import duplicate_key

BEFORE, AFTER = [("projections", "0010_frame_reset")], [("projections", "0011_comment_indexes_narrower")]


def _indexes(using: str) -> dict[str, dict]:
    conn = connections[using]
    with conn.cursor() as cur:
        return conn.introspection.get_constraints(cur, "threadlog_comment")


@pytest.mark.parametrize("using", ["default", "postgres"], ids=["sqlite", "postgres"])
def test_0011_fills_the_keys_and_replaces_the_indexes(live_db, using):
    conn = connections[using]
    executor = MigrationExecutor(conn)
    executor.migrate(BEFORE)
    try:
        with conn.cursor() as cur:
            if conn.vendor == "sqlite":  # as an online rebuild leaves it: the index under its alternate name
                cur.execute('DROP INDEX "tl_comment_root"')
                cur.execute('CREATE INDEX "tl_comment_root__r" ON "threadlog_comment" ("root_id", "position")')
            cur.execute("INSERT INTO threadlog_comment (id, thread_key, root_id, depth, position, author_name, author_id,"
                        " body, body_html, created_at, deleted, up, down, score, reply_count, children, status,"
                        " pinned, shown, format, rank_voted, rank_best, rank_hot) VALUES"
                        " ('m-1', 'mig', 'm-1', 0, 1, 'Ann', 'guest:mig', 'a body ✓', '', 't', %s, 0, 0, 0, 0, 0,"
                        " 'published', 0, %s, 'plain', 0, 0, 0)", [False, True])
        assert {"tl_comment_author_tail", "tl_comment_newest"} <= set(_indexes(using))
        MigrationExecutor(conn).migrate(AFTER)
        with conn.cursor() as cur:
            cur.execute("SELECT dup_key FROM threadlog_comment WHERE id = 'm-1'")
            assert cur.fetchone()[0] == duplicate_key("guest:mig", "a body ✓")
        found = _indexes(using)
        assert {"tl_comment_author", "tl_comment_root"} <= set(found)
        assert found["tl_comment_author"]["columns"] == ["author_id", "dup_key", "status"]
        assert not {"tl_comment_author_tail", "tl_comment_newest", "tl_comment_root__r"} & set(found)
    finally:
        MigrationExecutor(conn).migrate(executor.loader.graph.leaf_nodes("projections"))
        with conn.cursor() as cur:
            cur.execute("DELETE FROM threadlog_comment WHERE id = 'm-1'")
