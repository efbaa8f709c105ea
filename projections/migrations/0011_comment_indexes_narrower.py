"""Narrower comment indexes (2026-12-03: a rebuild builds every one of them; docs/benchmarks.md, "Rebuild floor
again"):

- tl_comment_author_tail (author_id, the body's last 64 characters, created_at) goes; tl_comment_author (author_id,
  status) becomes (author_id, dup_key, status), dup_key a new integer column (projections.duplicates), filled in
  here for the rows there are: one index serves the duplicate rule and an author's comments;
- tl_comment_root holds replies only (its query says `depth > 0`), without the position (unused);
- tl_comment_newest (the site feed's partial copy of tl_comment_recent) goes: the feed reads tl_comment_recent.

The old indexes are dropped by either name: on SQLite an online rebuild may have left an index under its alternate
name (`<name>__r`, projections.online)."""

from django.db import migrations, models
from django.db.models.functions import Right

BATCH = 5000


def fill_dup_key(apps, schema_editor):
    from projections.duplicates import duplicate_key

    conn = schema_editor.connection
    with conn.cursor() as read:
        read.execute("SELECT id, author_id, body FROM threadlog_comment")
        while rows := read.fetchmany(BATCH):
            with conn.cursor() as write:
                write.executemany("UPDATE threadlog_comment SET dup_key = %s WHERE id = %s",
                                  [(duplicate_key(author, body), cid) for cid, author, body in rows])


OLD_INDEXES = [
    models.Index(models.F("author_id"), Right("body", 64), models.F("created_at"), name="tl_comment_author_tail"),
    models.Index(fields=["position"], name="tl_comment_newest", condition=models.Q(deleted=False)),
    models.Index(fields=["root_id", "position"], name="tl_comment_root"),
    models.Index(fields=["author_id", "status"], name="tl_comment_author"),
]


def drop_old_indexes(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    with schema_editor.connection.cursor() as cur:
        for index in OLD_INDEXES:
            for name in (index.name, index.name + "__r"):
                cur.execute(f"DROP INDEX IF EXISTS {quote(name)}")


def create_old_indexes(apps, schema_editor):
    model = apps.get_model("projections", "CommentView")
    for index in OLD_INDEXES:
        schema_editor.add_index(model, index)


class Migration(migrations.Migration):

    dependencies = [
        ('projections', '0010_frame_reset'),
    ]

    operations = [
        migrations.AddField(
            model_name='commentview',
            name='dup_key',
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(fill_dup_key, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_old_indexes, create_old_indexes)],
            state_operations=[
                migrations.RemoveIndex(model_name='commentview', name='tl_comment_author_tail'),
                migrations.RemoveIndex(model_name='commentview', name='tl_comment_newest'),
                migrations.RemoveIndex(model_name='commentview', name='tl_comment_root'),
                migrations.RemoveIndex(model_name='commentview', name='tl_comment_author'),
            ],
        ),
        migrations.AddIndex(
            model_name='commentview',
            index=models.Index(condition=models.Q(('depth__gt', 0)), fields=['root_id'], name='tl_comment_root'),
        ),
        migrations.AddIndex(
            model_name='commentview',
            index=models.Index(fields=['author_id', 'dup_key', 'status'], name='tl_comment_author'),
        ),
    ]
