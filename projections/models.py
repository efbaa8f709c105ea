"""Read models. Only projectors write these tables; views and consumers only read them."""
from django.db import models

from events.models import PositionField

TOP_LEVEL = models.Q(depth=0)
REPLY = models.Q(depth__gt=0)
SHOWN = models.Q(deleted=False)  # in a feed (projections.readers.SHOWN says the same in SQL)


class Checkpoint(models.Model):
    name = models.CharField(max_length=100, primary_key=True)
    position = models.BigIntegerField(default=0)

    class Meta:
        db_table = "threadlog_checkpoint"


class ThreadView(models.Model):
    key = models.CharField(max_length=200, primary_key=True)
    title = models.CharField(max_length=300, default="")
    comment_count = models.IntegerField(default=0)
    stream_version = models.IntegerField(default=0)
    last_position = models.BigIntegerField(default=0)
    opened_at = models.CharField(max_length=32, default="")
    frames_pruned_through = models.BigIntegerField(default=0)
    frames_mark = models.BigIntegerField(default=0)
    closed = models.BooleanField(default=False)
    premoderated = models.BooleanField(default=False)

    class Meta:
        db_table = "threadlog_thread"


class CommentView(models.Model):
    id = models.CharField(max_length=36, primary_key=True)
    thread_key = models.CharField(max_length=200)
    parent_id = models.CharField(max_length=36, null=True)
    root_id = models.CharField(max_length=36)
    depth = models.IntegerField(default=0)
    position = models.BigIntegerField()  # of its CommentPosted: the tie-break of every order
    author_name = models.CharField(max_length=64)
    author_id = models.CharField(max_length=100)
    body = models.TextField(default="")
    body_html = models.TextField(default="")
    created_at = models.CharField(max_length=32)
    edited_at = models.CharField(max_length=32, null=True)
    deleted = models.BooleanField(default=False)
    up = models.IntegerField(default=0)
    down = models.IntegerField(default=0)
    score = models.IntegerField(default=0)
    reply_count = models.IntegerField(default=0)  # direct replies not deleted
    children = models.IntegerField(default=0)  # direct replies ever posted (keeps a deleted parent visible)
    status = models.CharField(max_length=16, default="published")  # projections.moderation
    pinned = models.BigIntegerField(default=0)  # position of the pin, 0: not pinned
    shown = models.BooleanField(default=True)  # has been public (counted in its parent's children)
    format = models.CharField(max_length=16, default="plain")  # of the body: "plain" or "markdown"
    anchor_id = models.CharField(max_length=16, null=True)  # inline feedback (projections.anchors)
    anchor = models.TextField(null=True)  # the anchor as the API shows it (JSON text)
    # Sort keys stored ascending so every order is one keyset over (key, position).
    rank_voted = models.IntegerField(default=0)  # -score
    rank_best = models.FloatField(default=0.0)  # -wilson lower bound
    rank_hot = models.FloatField(default=0.0)  # -hot
    # The duplicate rule's key: a hash of author_id and body (projections.duplicates), kept as the body changes.
    dup_key = models.BigIntegerField(default=0)

    class Meta:
        db_table = "threadlog_comment"
        # Only top-level comments are sorted (replies come by root_id), so the sort indexes hold only those:
        # partial indexes, used by queries that say `depth = 0` literally (projections.queries).
        indexes = [
            models.Index(fields=["thread_key", "position"], name="tl_comment_top_oldest", condition=TOP_LEVEL),
            models.Index(fields=["thread_key", "rank_voted", "position"], name="tl_comment_top_voted",
                         condition=TOP_LEVEL),
            models.Index(fields=["thread_key", "rank_best", "position"], name="tl_comment_top_best",
                         condition=TOP_LEVEL),
            models.Index(fields=["thread_key", "rank_hot", "position"], name="tl_comment_top_hot", condition=TOP_LEVEL),
            # the replies of a page's top-level comments (queried with the literal `depth > 0`: only replies are
            # in it; the order is made in Python, so no position)
            models.Index(fields=["root_id"], name="tl_comment_root", condition=REPLY),
            # An author's comments: moderation (an author's record, the "first comment" rule: `status` is read from
            # the index), an erasure, and the duplicate rule (threadlog.moderation.rules.refuse_duplicate: author and
            # dup_key, a hash of author and body, projections.duplicates). Since 2026-12-03 one index for both;
            # before, (author_id, status) and (author_id, the body's last 64 characters, created_at).
            models.Index(fields=["author_id", "dup_key", "status"], name="tl_comment_author"),
            # The newest comments: the queue's "recent" tab, and the site's feed (projections.readers: few comments
            # are deleted, so a scan from the newest down meets its 50 at once; a partial copy of this index for the
            # feed alone was dropped on 2026-12-03)
            models.Index(fields=["position"], name="tl_comment_recent"),
            # the pinned comments of a thread (a handful): queried with the literal `pinned > 0`
            models.Index(fields=["thread_key", "pinned"], name="tl_comment_pinned", condition=models.Q(pinned__gt=0)),
            # The newest comments a reader sees of a thread (its feed: projections.readers).
            # Partial, so that the top-level sorts above keep using their own indexes.
            models.Index(fields=["thread_key", "position"], name="tl_comment_thread_newest", condition=SHOWN),
            # Inline feedback: a thread's anchored comments only (GET …/anchors, …/comments?anchor=)
            models.Index(fields=["thread_key", "anchor_id", "position"], name="tl_comment_anchor",
                         condition=models.Q(anchor_id__isnull=False)),
        ]


class VoteView(models.Model):
    comment_id = models.CharField(max_length=36)
    voter = models.CharField(max_length=100)
    value = models.SmallIntegerField()

    class Meta:
        db_table = "threadlog_vote"
        constraints = [models.UniqueConstraint(fields=["comment_id", "voter"], name="tl_vote_once")]


class LiveFrame(models.Model):
    """The push frame of each event, encoded once by the projector: what the event changed, as it stood then.

    Kept for the last FRAMES_WINDOW..2*FRAMES_WINDOW-1 events of each thread (projections.thread): enough for any
    resume a reader is allowed; older frames are deleted by the projector and never written by a rebuild.
    """

    position = PositionField(primary_key=True)
    thread_key = models.CharField(max_length=200)
    stream_version = models.IntegerField()
    frame = models.TextField()

    class Meta:
        db_table = "threadlog_frame"
        indexes = [models.Index(fields=["thread_key", "position"], name="tl_frame_thread")]


class FrameReset(models.Model):
    """A thread whose frames an online rebuild changed: its connected readers are sent `reset` (refetch the page).

    Not a read model (a rebuild does not write it from the log): notices, written under the switch's lock
    (projections.reset) and read by every node's publisher (threadlog.live.publisher), which works without Redis
    and from a rebuild run in another process. Rows older than an hour are deleted by the next rebuild."""

    thread_key = models.CharField(max_length=200)
    position = PositionField()  # the thread's last position after the switch
    recorded_at = models.FloatField()  # time.time()

    class Meta:
        db_table = "threadlog_frame_reset"


class ThreadSnapshot(models.Model):
    """A thread's in-memory state every SNAPSHOT_EVERY of its events, so time travel replays at most that many.

    A projection like any other (a pure function of the log); rebuild drops and recreates them on demand.
    """

    thread_key = models.CharField(max_length=200)
    stream_version = models.IntegerField()
    position = models.BigIntegerField()
    state = models.TextField()

    class Meta:
        db_table = "threadlog_snapshot"
        constraints = [models.UniqueConstraint(fields=["thread_key", "stream_version"], name="tl_snapshot_once")]
        indexes = [models.Index(fields=["thread_key", "position"], name="tl_snapshot_pos")]


from .queue_models import Ban, QueueItem, Report  # noqa: E402,F401  (the moderation queue's read model)
from .history_models import HistoryVersion  # noqa: E402,F401  (the audit pages' history index)
