"""Make the log append-only in the database: UPDATE and DELETE (and TRUNCATE on PostgreSQL) are rejected."""
from django.db import migrations


def forwards(apps, schema_editor):
    from events.guard import install

    install(schema_editor)


def backwards(apps, schema_editor):
    from events.guard import uninstall

    uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
