"""Database triggers that make the log append-only below the application too."""
from __future__ import annotations

APPEND_ONLY_TABLES = ("threadlog_events", "threadlog_idempotency")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION threadlog_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'threadlog: % is append-only (% rejected)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        sql = [_PG_FUNCTION]
        for table in APPEND_ONLY_TABLES:
            sql += [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION threadlog_append_only()",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
                " FOR EACH STATEMENT EXECUTE FUNCTION threadlog_append_only()",
            ]
        return sql
    if vendor == "sqlite":
        sql = []
        for table in APPEND_ONLY_TABLES:
            for op in ("UPDATE", "DELETE"):
                name = f"{table}_no_{op.lower()}"
                sql += [
                    f"DROP TRIGGER IF EXISTS {name}",
                    f"CREATE TRIGGER {name} BEFORE {op} ON {table} BEGIN"
                    f" SELECT RAISE(ABORT, 'threadlog: {table} is append-only ({op} rejected)'); END",
                ]
        return sql
    raise NotImplementedError(f"no append-only guard for {vendor}")


def uninstall_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {t}_{s} ON {t}" for t in APPEND_ONLY_TABLES for s in ("append_only", "no_truncate")]
    return [f"DROP TRIGGER IF EXISTS {t}_no_{op}" for t in APPEND_ONLY_TABLES for op in ("update", "delete")]


def install(schema_editor) -> None:
    for statement in install_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, None)


def uninstall(schema_editor) -> None:
    for statement in uninstall_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement, None)
