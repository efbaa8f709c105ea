from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0003_person_key'),
    ]

    operations = [
        migrations.CreateModel(
            name='ChainCheckpoint',
            fields=[
                ('name', models.CharField(max_length=40, primary_key=True, serialize=False)),
                ('position', models.BigIntegerField(default=0)),
                ('hash', models.CharField(max_length=64)),
                ('checked_at', models.CharField(max_length=32)),
                ('bad_position', models.BigIntegerField(null=True)),
                ('reason', models.CharField(default='', max_length=200)),
            ],
            options={
                'db_table': 'threadlog_chain_checkpoint',
            },
        ),
    ]
