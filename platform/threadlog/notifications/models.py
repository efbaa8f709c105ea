"""The notifications' tables, all rebuildable from the log except the outbox and the sign-in links.

Subscription and IdentityLink are what the subscription handlers decide on: subscriptions.py applies each event to
them in the append transaction that records it (read your writes), and the notifier applies the same functions
again (a no-op then; the work for events appended without them: a rebuild, old logs). NotifyComment, NotifyThread,
NotifyAddress and Notice are the notifier's own read model (notifier.py). OutboxMessage is the notifier's
decisions, written in the same transaction as its checkpoint, and then only marked by the sender; SignInToken is
the one-time sign-in links (not events: nothing to replay)."""
from django.db import models


class Subscription(models.Model):
    id = models.CharField(max_length=36, primary_key=True)
    thread_key = models.CharField(max_length=200, db_index=True)
    notify = models.CharField(max_length=10)  # comments | replies
    person = models.CharField(max_length=100, db_index=True)
    sealed_email = models.TextField()  # sealed with the person's key; opened only to send
    address = models.CharField(max_length=64, null=True, db_index=True)  # keyed hash of the address; NULL once erased
    state = models.CharField(max_length=10, default="requested")  # requested | confirmed | ended
    ended_why = models.CharField(max_length=20, default="")
    requested_at = models.CharField(max_length=32)
    position = models.BigIntegerField()  # of the SubscriptionRequested that made it
    # Where it became confirmed (its own request, when the address was proven before, or a SubscriptionConfirmed)
    # and ended: its state as of any position, for the notifier, which decides on events the handlers have
    # applied long since (subscriptions.py). NULL: not (yet).
    confirmed_position = models.BigIntegerField(null=True)
    ended_position = models.BigIntegerField(null=True)
    asked_at = models.CharField(max_length=32, db_default="")  # recorded_at of its latest request (asking again)

    class Meta:
        db_table = "notify_subscription"
        indexes = [models.Index(fields=["thread_key", "state", "notify"], name="notify_sub_thread_state")]


class NotifyComment(models.Model):
    """Who wrote each comment (to find replies' recipients and never mail an author about their own comment) and
    whether it is published (moderation) and already announced."""

    comment_id = models.CharField(max_length=36, primary_key=True)
    thread_key = models.CharField(max_length=200)
    parent_id = models.CharField(max_length=36, null=True)
    person = models.CharField(max_length=100, db_index=True)
    address = models.CharField(max_length=64, null=True)
    status = models.CharField(max_length=12, default="published")
    notified = models.BooleanField(default=False)
    event_id = models.CharField(max_length=36)  # the CommentPosted event: messages about it are named after it

    class Meta:
        db_table = "notify_comment"


class NotifyThread(models.Model):
    key = models.CharField(max_length=200, primary_key=True)
    title = models.CharField(max_length=300, default="")
    url = models.CharField(max_length=2000, default="")  # the embedding page, when the log knows it

    class Meta:
        db_table = "notify_thread"


class NotifyAddress(models.Model):
    address = models.CharField(max_length=64, primary_key=True)
    # Unused since migration 0002 (an address is proven when one of its subscriptions has a confirmed_position);
    # kept because migrations only add: older nodes still running during an upgrade write it.
    confirmed = models.BooleanField(default=False)
    last_confirmation_at = models.CharField(max_length=32, default="")  # recorded_at of the request it answered
    last_digest_at = models.DateTimeField(null=True)  # the sender's: when the last digest went out

    class Meta:
        db_table = "notify_address"


class IdentityLink(models.Model):
    guest = models.CharField(max_length=100, primary_key=True)
    reader = models.CharField(max_length=100, db_index=True)
    position = models.BigIntegerField(db_default=0)  # of the GuestLinked it reflects: a later one wins

    class Meta:
        db_table = "notify_identity_link"


class Notice(models.Model):
    """A personal live frame ({type: notice, …}) for the open pages of one person."""

    id = models.BigAutoField(primary_key=True)
    person = models.CharField(max_length=100)
    frame = models.TextField()
    position = models.BigIntegerField()

    class Meta:
        db_table = "notify_notice"


class OutboxMessage(models.Model):
    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=250, unique=True)  # (event, recipient, kind): a decision is written once
    kind = models.CharField(max_length=10)  # confirm | comment | reply | signin
    status = models.CharField(max_length=10, default="pending")  # pending | sent | failed | dropped
    recipient = models.CharField(max_length=64)  # the address hash
    person = models.CharField(max_length=100)  # whose key opens sealed_to
    sealed_to = models.TextField()
    subscription_id = models.CharField(max_length=36, null=True, db_index=True)
    thread_key = models.CharField(max_length=200, default="")
    comment_id = models.CharField(max_length=36, default="")
    ref = models.CharField(max_length=64, default="")  # the event id (or a sign-in nonce) the message is about
    position = models.BigIntegerField(default=0)
    created_at = models.DateTimeField()
    due_at = models.DateTimeField()
    attempts = models.IntegerField(default=0)
    claimed_until = models.DateTimeField(null=True)
    claimed_by = models.CharField(max_length=32, default="")
    last_error = models.TextField(default="")
    sent_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "notify_outbox"
        indexes = [models.Index(fields=["status", "due_at"], name="notify_outbox_due")]


class SignInToken(models.Model):
    nonce = models.CharField(max_length=32, primary_key=True)
    reader = models.CharField(max_length=100)
    sealed_email = models.TextField()
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "notify_signin"
