"""The history index (projections.history_index): each row of a thread as it stood after each event that changed it.

A projection like the snapshots: a pure function of the log, kept up by the history processes, droppable and
rebuilt on demand. No personal data: author names are left out and opened from the log when a row is shown.
"""
from django.db import models


class HistoryVersion(models.Model):
    """One thread's row (comment_id "") or one comment's row, as it stood after the event at `position`.

    `kind`: "t" the thread's row (one per event of the thread), "p" a comment as posted, "c" a comment changed.
    parent_id, root_id and depth never change: they place the comment in the tree without reading `row`."""

    thread_key = models.CharField(max_length=200)
    comment_id = models.CharField(max_length=64)
    position = models.BigIntegerField()
    kind = models.CharField(max_length=1)
    depth = models.IntegerField(default=0)
    parent_id = models.CharField(max_length=64, null=True)
    root_id = models.CharField(max_length=64, default="")
    row = models.TextField()  # JSON {field: value} of ThreadRow or CommentRow (author_name left out)

    class Meta:
        db_table = "threadlog_history_version"
        constraints = [models.UniqueConstraint(fields=["thread_key", "position", "comment_id"],
                                               name="tl_history_once")]  # also: the rows one event changed
        indexes = [
            models.Index(fields=["thread_key", "comment_id", "position"], name="tl_history_row"),
            models.Index(fields=["thread_key", "kind", "depth", "position"], name="tl_history_roots"),
            models.Index(fields=["root_id", "kind", "position"], name="tl_history_branch"),
        ]
