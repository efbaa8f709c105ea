"""Tables of the log. Only events.store writes them; triggers make them append-only in the database too."""
from django.db import models


class PositionField(models.BigIntegerField):
    """A 64-bit position; on SQLite declared INTEGER so that it *is* the rowid (no second B-tree per row)."""

    def db_type(self, connection):
        return "integer" if connection.vendor == "sqlite" else super().db_type(connection)


class StoredEvent(models.Model):
    position = PositionField(primary_key=True)
    id = models.UUIDField(unique=True)
    stream = models.CharField(max_length=200)
    stream_version = models.IntegerField()
    type = models.CharField(max_length=100)
    version = models.SmallIntegerField()
    data = models.TextField()  # canonical JSON text: hashed byte-for-byte as stored
    metadata = models.TextField()
    recorded_at = models.CharField(max_length=32)  # ISO-8601 UTC with microseconds and Z: sorts as it reads
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "threadlog_events"
        constraints = [models.UniqueConstraint(fields=["stream", "stream_version"], name="threadlog_events_stream_v")]


class IdempotencyRecord(models.Model):
    """Which positions an idempotency key produced: a retried append returns them instead of appending."""

    key = models.CharField(max_length=250, primary_key=True)
    stream = models.CharField(max_length=200)
    first_position = models.BigIntegerField()
    last_position = models.BigIntegerField()

    class Meta:
        db_table = "threadlog_idempotency"


class PersonKey(models.Model):
    """A person's encryption key for the personal fields of their events, kept outside the log.

    Deleting the key (erasure) leaves the log, and its hash chain, untouched while making those fields
    unreadable for good. This table is deliberately not append-only.
    """

    person = models.CharField(max_length=100, primary_key=True)
    key = models.CharField(max_length=64, null=True)  # 32 random bytes, base64 (events.sealing); NULL once erased
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(null=True)
    bodies = models.CharField(max_length=10, default="kept")  # once erased: their comment bodies kept or hidden

    class Meta:
        db_table = "threadlog_person_key"


class ChainCheckpoint(models.Model):
    """How far the hash chain has been verified (events.chain): one row, moved forward as new events are checked.

    Not part of the log and not append-only: it is a cache of a verification's result, which `threadlog audit
    verify` can always recompute from position 0."""

    name = models.CharField(max_length=40, primary_key=True)  # "chain"
    position = models.BigIntegerField(default=0)  # verified through this position (0: nothing yet)
    hash = models.CharField(max_length=64)  # that position's hash
    checked_at = models.CharField(max_length=32)  # ISO-8601 UTC, when the verification last reached the head
    bad_position = models.BigIntegerField(null=True)  # the first position that does not fit, if any
    reason = models.CharField(max_length=200, default="")

    class Meta:
        db_table = "threadlog_chain_checkpoint"
