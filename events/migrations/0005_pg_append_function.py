"""PostgreSQL: the function that appends in one round trip (events/pg_append.py). Nothing on SQLite."""
from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from events.pg_append import FUNCTION

        schema_editor.execute(FUNCTION, None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from events.pg_append import DROP

        schema_editor.execute(DROP, None)


class Migration(migrations.Migration):
    dependencies = [("events", "0004_chain_checkpoint")]
    operations = [migrations.RunPython(forwards, backwards)]
