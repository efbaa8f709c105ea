# Sort indexes hold top-level comments only (partial): smaller, and a rebuild writes a third less into them.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('projections', '0003_frame_retention'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='commentview',
            name='tl_comment_oldest',
        ),
        migrations.RemoveIndex(
            model_name='commentview',
            name='tl_comment_voted',
        ),
        migrations.RemoveIndex(
            model_name='commentview',
            name='tl_comment_best',
        ),
        migrations.RemoveIndex(
            model_name='commentview',
            name='tl_comment_hot',
        ),
        migrations.AddIndex(
            model_name='commentview',
            index=models.Index(condition=models.Q(('depth', 0)), fields=['thread_key', 'position'], name='tl_comment_top_oldest'),
        ),
        migrations.AddIndex(
            model_name='commentview',
            index=models.Index(condition=models.Q(('depth', 0)), fields=['thread_key', 'rank_voted', 'position'], name='tl_comment_top_voted'),
        ),
        migrations.AddIndex(
            model_name='commentview',
            index=models.Index(condition=models.Q(('depth', 0)), fields=['thread_key', 'rank_best', 'position'], name='tl_comment_top_best'),
        ),
        migrations.AddIndex(
            model_name='commentview',
            index=models.Index(condition=models.Q(('depth', 0)), fields=['thread_key', 'rank_hot', 'position'], name='tl_comment_top_hot'),
        ),
    ]
