"""Subscriptions are applied in their handlers' append transaction (subscriptions.py): each row gains where it was
confirmed and ended, and when it was last asked for; identity links, the GuestLinked they reflect.

Existing rows get values as good as the old read model knows (a confirmed row: confirmed at its request; an ended
row: ended there too, and confirmed if its address was): enough for every decision taken from now on, since the
notifier never looks at positions it has passed. `threadlog notify rebuild` gives the exact positions."""
from django.db import migrations, models
from django.db.models import F


def fill(apps, schema_editor):
    db = schema_editor.connection.alias
    subscriptions = apps.get_model("notifications", "Subscription").objects.using(db)
    proven = apps.get_model("notifications", "NotifyAddress").objects.using(db).filter(confirmed=True)
    subscriptions.update(asked_at=F("requested_at"))
    subscriptions.filter(state="confirmed").update(confirmed_position=F("position"))
    subscriptions.filter(state="ended", address__in=proven.values("address")).update(confirmed_position=F("position"))
    subscriptions.filter(state="ended").update(ended_position=F("position"))


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0001_notifications'),
    ]

    operations = [
        migrations.AddField(
            model_name='identitylink',
            name='position',
            field=models.BigIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='subscription',
            name='asked_at',
            field=models.CharField(db_default='', max_length=32),
        ),
        migrations.AddField(
            model_name='subscription',
            name='confirmed_position',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='subscription',
            name='ended_position',
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
