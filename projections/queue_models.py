"""The moderation queue's read model (projections.queue): what waits for a moderator, reports, bans.

Written only by projections.queue, in the same transaction and under the same checkpoint as the thread
read model; rebuilt from the log like it.
"""
from django.db import models


class QueueItem(models.Model):
    """A comment that has needed a moderator: held, reported or decided. Comments nobody flagged have none."""

    comment_id = models.CharField(max_length=36, primary_key=True)
    thread_key = models.CharField(max_length=200)
    author_id = models.CharField(max_length=100)
    status = models.CharField(max_length=16)  # the comment's status, as in threadlog_comment
    held_reason = models.CharField(max_length=16, default="")  # why it waits (CommentHeld.reason)
    reports = models.IntegerField(default=0)  # distinct readers who reported it
    report_reasons = models.TextField(default="{}")  # JSON {reason: count}
    moderator = models.CharField(max_length=100, default="")  # who decided last
    decision = models.CharField(max_length=32, default="")  # the last decision's event type
    reason = models.CharField(max_length=500, default="")  # the last decision's reason
    updated = models.BigIntegerField()  # position of the last change: the queue's order and cursor

    class Meta:
        db_table = "threadlog_queue"
        indexes = [models.Index(fields=["status", "updated"], name="tl_queue_status"),
                   models.Index(fields=["thread_key", "status", "updated"], name="tl_queue_thread"),
                   models.Index(fields=["reports", "updated"], name="tl_queue_reported")]


class Report(models.Model):
    """One reader's report of one comment (one per reader per comment)."""

    comment_id = models.CharField(max_length=36)
    reporter = models.CharField(max_length=100)
    reason = models.CharField(max_length=16)
    position = models.BigIntegerField()

    class Meta:
        db_table = "threadlog_report"
        constraints = [models.UniqueConstraint(fields=["comment_id", "reporter"], name="tl_report_once")]


class Ban(models.Model):
    """A ban of an author id or an IP hash, until `until` (ISO, "" for no end) or lifted."""

    ban_id = models.CharField(max_length=36, primary_key=True)
    scope = models.CharField(max_length=8)
    subject = models.CharField(max_length=100)
    until = models.CharField(max_length=32, default="")
    reason = models.CharField(max_length=500, default="")
    moderator = models.CharField(max_length=100, default="")
    comment_id = models.CharField(max_length=36, default="")
    lifted = models.BooleanField(default=False)
    position = models.BigIntegerField()

    class Meta:
        db_table = "threadlog_ban"
        indexes = [models.Index(fields=["subject", "lifted"], name="tl_ban_subject")]
